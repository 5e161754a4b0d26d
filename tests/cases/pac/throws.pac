// Broken: FindProxyForURL throws.
function FindProxyForURL(url, host) {
  throw new Error("kunde.pac is broken for " + host);
}

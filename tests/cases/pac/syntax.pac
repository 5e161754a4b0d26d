// Broken: a syntax error.
function FindProxyForURL(url, host) {
  if (host == "a" { return "DIRECT"; }
}

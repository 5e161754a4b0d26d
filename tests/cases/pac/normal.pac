// A site PAC in the style of NHN's kunde.pac, for tests: names under .test,
// documentation addresses only.
function FindProxyForURL(url, host) {
  host = host.toLowerCase();
  if (isPlainHostName(host) || dnsDomainIs(host, ".lan.test"))
    return "DIRECT";
  if (shExpMatch(host, "*.helsenett.test"))
    return "DIRECT";
  if (host == "whoami.test")
    return "PROXY " + myIpAddress() + ":3128";
  if (shExpMatch(url, "http://plain.test/*"))
    return "PROXY 203.0.113.8:3128";
  if (!isResolvable(host))
    return "PROXY sikker.proxy.nhn.test:8080; DIRECT";
  if (isInNet(host, "203.0.113.0", "255.255.255.128"))
    return "DIRECT";
  var ip = dnsResolve(host);
  if (isInNet(ip, "203.0.113.128", "255.255.255.192"))
    return "PROXY sikker.proxy.nhn.test:8080";
  return "PROXY sikker.proxy.nhn.test:8080; SOCKS 203.0.113.9:1080";
}

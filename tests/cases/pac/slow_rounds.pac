// 0.9 s of CPU per call and a new name each round (review D16, PAC13): the budget is
// per check, not per call x rounds x URLs.
var n = 0;
function FindProxyForURL(url, host) {
  var end = Date.now() + 900;
  while (Date.now() < end) {}
  dnsResolve("r" + (n++) + ".test");
  return "DIRECT";
}

// Hostile: allocates without bound (doubling strings, all kept alive).
function FindProxyForURL(url, host) {
  var hoard = [], s = "x";
  while (true) {
    s = s + s;
    hoard.push(s + hoard.length);
  }
}

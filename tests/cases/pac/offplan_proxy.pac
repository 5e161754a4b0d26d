// The PAC file names a proxy the catalogue and the site file do not (review D4, PR03).
function FindProxyForURL(url, host) {
  return "PROXY 203.0.113.66:18081";
}

// Hostile: never returns (the interrupt must also get through try/catch).
function FindProxyForURL(url, host) {
  for (;;) {
    try { while (true) {} } catch (e) {}
  }
}

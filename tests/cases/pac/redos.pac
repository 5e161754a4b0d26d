// Catastrophic backtracking (review D2, PAC07): QuickJS does not poll its time
// limit inside a regular expression, so only the sandbox's wall-clock kill ends it.
function FindProxyForURL(url, host) {
  /^(a+)+$/.test("a".repeat(40) + "b");
  return "DIRECT";
}

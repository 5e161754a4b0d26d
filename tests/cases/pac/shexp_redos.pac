// The standard helper with a pattern that backtracks exponentially in a regex-based
// shExpMatch (review D2, PAC08); the prelude's matcher is linear in both lengths.
function FindProxyForURL(url, host) {
  if (shExpMatch("a".repeat(60), "*a*a*a*a*a*a*a*a*a*a*a*c")) return "PROXY 203.0.113.8:3128";
  return "DIRECT";
}

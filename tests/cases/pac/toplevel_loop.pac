// Hostile: never finishes loading (the loop runs when the file is evaluated).
while (true) {}
function FindProxyForURL(url, host) { return "DIRECT"; }

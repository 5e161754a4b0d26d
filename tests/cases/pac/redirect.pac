// Never served: the test's PAC server answers /redirect.pac with a 302 to a host in no plan.
function FindProxyForURL(url, host) { return "DIRECT"; }

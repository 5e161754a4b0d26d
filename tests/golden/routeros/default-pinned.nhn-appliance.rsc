# RouterOS v7 script for site legekontor-eksempel (appliance.toml)
# made by nhn-appliance from catalogue revision 94bed88b7b8c
# Generation g16b7d613: every item this script adds has "nhn-appliance g16b7d613:" in its comment.
#
# How to apply it safely:
#   1. Turn on Safe Mode first: Ctrl-X in the terminal (the Safe Mode button in WinBox).
#      If the session drops, RouterOS undoes every change made in it; Ctrl-X again keeps them.
#   2. Paste this script into the terminal, or upload it and run /import file-name=nhn-appliance.rsc
#      (/import stops at the first error; a paste goes on line by line: either way a failure
#      leaves the policy that was in force, and running the script again finishes the job).
#   3. Check: /ip firewall filter print where chain=forward (the nhn jump comes first).
# What it expects: RouterOS v7, and the interfaces bridge, ether1, ether2 (checked first:
#   if one is missing the script stops before it changes anything).
# What it changes: it adds its own interface lists, address lists and chains, then one jump at
#   the top of "forward" in /ip and /ipv6 firewall filter and mangle, ahead of any fasttrack or
#   accept already there; then it removes older generations. It changes no other rule, and not
#   the input chain. Traffic between other interfaces (VPN, management) keeps the rules there.
# Interfaces: LAN bridge; helsenett ether1; internett ether2
# Outbound: blocked; blocked traffic: reject (TCP reset for TCP).
# route via helsenett (wan-hn):
# 10.145.128.0/17, 91.102.24.142, 91.186.92.28-91.186.92.32, 91.186.92.90
# 185.84.36.241, 193.214.20.211, 203.0.113.80/31, 203.0.113.123
# 2001:db8:81::1
# route via internett (wan-inet):
# 83.118.185.0/27, 83.118.188.228-83.118.188.234, 91.186.66.22, 91.186.67.134
# WARNING: 3 name(s) not pinned, their rules are left out: helseid-sts.nhn.no, idporten.difi.no, oidc.difi.no, run nhn-appliance resolve to pin them
# left out: fjernhjelp/dns: its part inside the LAN prefixes (192.168.10.0/24, 2001:db8:10::/64) is LAN traffic, not an uplink opening
# left out: fjernhjelp/lokale-adresser: its part inside the LAN prefixes (192.168.10.0/24) is LAN traffic, not an uplink opening
# left out: dns/resolvere: 192.168.10.1 lies inside the LAN prefixes: LAN traffic, not an uplink opening
# left out: helseid/helseid: helseid-sts.nhn.no is not pinned
# left out: helseid/idporten: idporten.difi.no is not pinned
# left out: helseid/idporten: oidc.difi.no is not pinned

# 1. every interface must exist
:if ([:len [/interface find where name="bridge"]] = 0) do={:error "nhn-appliance: no interface bridge, nothing changed"}
:if ([:len [/interface find where name="ether1"]] = 0) do={:error "nhn-appliance: no interface ether1, nothing changed"}
:if ([:len [/interface find where name="ether2"]] = 0) do={:error "nhn-appliance: no interface ether2, nothing changed"}

# 2. what an interrupted run of this generation left (never while it is in force)
:if (([:len [/interface find where name="bridge"]] > 0) && ([:len [/interface find where name="ether1"]] > 0) && ([:len [/interface find where name="ether2"]] > 0) && ([:len [/ip firewall filter find where comment="nhn-appliance g16b7d613: jump"]] = 0) && ([:len [/ipv6 firewall filter find where comment="nhn-appliance g16b7d613: jump"]] = 0) && ([:len [/ip firewall mangle find where comment="nhn-appliance g16b7d613: jump"]] = 0) && ([:len [/ipv6 firewall mangle find where comment="nhn-appliance g16b7d613: jump"]] = 0)) do={
/ip firewall filter remove [find where comment~"^nhn-appliance g16b7d613:"]
/ip firewall mangle remove [find where comment~"^nhn-appliance g16b7d613:"]
/ip firewall address-list remove [find where comment~"^nhn-appliance g16b7d613:"]
/ipv6 firewall filter remove [find where comment~"^nhn-appliance g16b7d613:"]
/ipv6 firewall mangle remove [find where comment~"^nhn-appliance g16b7d613:"]
/ipv6 firewall address-list remove [find where comment~"^nhn-appliance g16b7d613:"]
/interface list member remove [find where comment~"^nhn-appliance g16b7d613:"]
/interface list remove [find where comment~"^nhn-appliance g16b7d613:"]
}

# 3. build the generation; a failing line ends the block before the marker at its end
:if (([:len [/interface find where name="bridge"]] > 0) && ([:len [/interface find where name="ether1"]] > 0) && ([:len [/interface find where name="ether2"]] > 0) && ([:len [/ip firewall filter find where comment="nhn-appliance g16b7d613: jump"]] = 0) && ([:len [/ipv6 firewall filter find where comment="nhn-appliance g16b7d613: jump"]] = 0) && ([:len [/ip firewall mangle find where comment="nhn-appliance g16b7d613: jump"]] = 0) && ([:len [/ipv6 firewall mangle find where comment="nhn-appliance g16b7d613: jump"]] = 0)) do={
/interface list add name=nhn-g16b7d613-lan comment="nhn-appliance g16b7d613: LAN interfaces"
/interface list add name=nhn-g16b7d613-wan comment="nhn-appliance g16b7d613: uplinks"
/interface list add name=nhn-g16b7d613-all comment="nhn-appliance g16b7d613: LAN and uplinks: what this policy governs"
/interface list member add list=nhn-g16b7d613-lan interface=bridge comment="nhn-appliance g16b7d613: LAN interfaces"
/interface list member add list=nhn-g16b7d613-wan interface=ether1 comment="nhn-appliance g16b7d613: uplinks"
/interface list member add list=nhn-g16b7d613-wan interface=ether2 comment="nhn-appliance g16b7d613: uplinks"
/interface list member add list=nhn-g16b7d613-all interface=bridge comment="nhn-appliance g16b7d613: LAN and uplinks: what this policy governs"
/interface list member add list=nhn-g16b7d613-all interface=ether1 comment="nhn-appliance g16b7d613: LAN and uplinks: what this policy governs"
/interface list member add list=nhn-g16b7d613-all interface=ether2 comment="nhn-appliance g16b7d613: LAN and uplinks: what this policy governs"
# ---- IPv4 ----
/ip firewall address-list add list=nhn-g16b7d613-p-fjernhjelp-leverandor address=192.168.10.50 comment="nhn-appliance g16b7d613: profile fjernhjelp-leverandor: leverandor-pc"
/ip firewall address-list add list=nhn-g16b7d613-fjernhjelp-lokale-adresser address=10.0.0.0/8 comment="nhn-appliance g16b7d613: fjernhjelp/lokale-adresser 004:56-59"
/ip firewall address-list add list=nhn-g16b7d613-fjernhjelp-lokale-adresser address=172.16.0.0/12 comment="nhn-appliance g16b7d613: fjernhjelp/lokale-adresser 004:56-59"
/ip firewall address-list add list=nhn-g16b7d613-fjernhjelp-lokale-adresser address=192.168.0.0-192.168.9.255 comment="nhn-appliance g16b7d613: fjernhjelp/lokale-adresser 004:56-59"
/ip firewall address-list add list=nhn-g16b7d613-fjernhjelp-lokale-adresser address=192.168.11.0-192.168.255.255 comment="nhn-appliance g16b7d613: fjernhjelp/lokale-adresser 004:56-59"
/ip firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=0.0.0.0-192.168.9.255 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ip firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=192.168.11.0-255.255.255.255 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ip firewall address-list add list=nhn-g16b7d613-fjernhjelp-hjelp-internett address=91.186.66.22 comment="nhn-appliance g16b7d613: fjernhjelp/hjelp-internett 004:60"
/ip firewall address-list add list=nhn-g16b7d613-p-videoutstyr address=192.168.10.60 comment="nhn-appliance g16b7d613: profile videoutstyr: videorom"
/ip firewall address-list add list=nhn-g16b7d613-videokonferanse-helsenett address=10.145.128.0/17 comment="nhn-appliance g16b7d613: videokonferanse/helsenett 002:664-668"
/ip firewall address-list add list=nhn-g16b7d613-lan-prefixes address=192.168.10.0/24 comment="nhn-appliance g16b7d613: LAN prefixes"
/ip firewall address-list add list=nhn-g16b7d613-betalingsterminal-betalingsaksess address=193.214.20.211 comment="nhn-appliance g16b7d613: betalingsterminal/betalingsaksess 002:547"
/ip firewall address-list add list=nhn-g16b7d613-fjernhjelp-helsenett address=91.186.92.90 comment="nhn-appliance g16b7d613: fjernhjelp/helsenett 002:85-86"
/ip firewall address-list add list=nhn-g16b7d613-fjernhjelp-internett address=91.186.66.22 comment="nhn-appliance g16b7d613: fjernhjelp/internett 002:88-89, 004:60"
/ip firewall address-list add list=nhn-g16b7d613-join-helsenett-signalering address=91.186.92.28-91.186.92.32 comment="nhn-appliance g16b7d613: join/helsenett-signalering 002:370-376, 002:379-383"
/ip firewall address-list add list=nhn-g16b7d613-join-helsenett-media address=91.186.92.28-91.186.92.32 comment="nhn-appliance g16b7d613: join/helsenett-media 002:377-383"
/ip firewall address-list add list=nhn-g16b7d613-join-usikker-sone-signalering address=83.118.128.0/28 comment="nhn-appliance g16b7d613: join/usikker-sone-signalering 002:370-376, 002:384"
/ip firewall address-list add list=nhn-g16b7d613-join-usikker-sone-media address=83.118.128.0/28 comment="nhn-appliance g16b7d613: join/usikker-sone-media 002:377-378, 002:384"
/ip firewall address-list add list=nhn-g16b7d613-join-internett-signalering address=83.118.185.0/27 comment="nhn-appliance g16b7d613: join/internett-signalering 002:370-376, 002:386-393"
/ip firewall address-list add list=nhn-g16b7d613-join-internett-signalering address=83.118.188.228-83.118.188.234 comment="nhn-appliance g16b7d613: join/internett-signalering 002:370-376, 002:386-393"
/ip firewall address-list add list=nhn-g16b7d613-join-internett-media address=83.118.185.0/27 comment="nhn-appliance g16b7d613: join/internett-media 002:377-378, 002:386-393"
/ip firewall address-list add list=nhn-g16b7d613-join-internett-media address=83.118.188.228-83.118.188.234 comment="nhn-appliance g16b7d613: join/internett-media 002:377-378, 002:386-393"
/ip firewall address-list add list=nhn-g16b7d613-cma-signalering address=91.186.67.134 comment="nhn-appliance g16b7d613: cma/signalering 002:344-349, 002:352"
/ip firewall address-list add list=nhn-g16b7d613-cma-media address=91.186.67.134 comment="nhn-appliance g16b7d613: cma/media 002:350, 002:352"
/ip firewall address-list add list=nhn-g16b7d613-proxy-sikker-proxy address=185.84.36.241 comment="nhn-appliance g16b7d613: proxy/sikker-proxy 002:524-528"
/ip firewall address-list add list=nhn-g16b7d613-proxy-kunde-proxy address=203.0.113.80 comment="nhn-appliance g16b7d613: proxy/kunde-proxy 002:555-556"
/ip firewall address-list add list=nhn-g16b7d613-proxy-pac address=203.0.113.81 comment="nhn-appliance g16b7d613: proxy/pac 002:530"
/ip firewall address-list add list=nhn-g16b7d613-ntp-ntp-nhn address=203.0.113.123 comment="nhn-appliance g16b7d613: ntp/ntp-nhn 002:486"
/ip firewall address-list add list=nhn-g16b7d613-betalingsterminal-secure-access-feil address=91.102.24.142 comment="nhn-appliance g16b7d613: betalingsterminal/secure-access-feil 002:549"
# forward: replies, then new connections from the LAN
/ip firewall filter add chain=nhn-g16b7d613-fwd action=accept connection-state=established,related comment="nhn-appliance g16b7d613: replies to allowed connections (here, so FastTrack never skips the marking)"
/ip firewall filter add chain=nhn-g16b7d613-fwd action=drop connection-state=invalid comment="nhn-appliance g16b7d613: invalid packets"
/ip firewall filter add chain=nhn-g16b7d613-fwd action=drop in-interface-list=!nhn-g16b7d613-lan comment="nhn-appliance g16b7d613: new connections only from the LAN"
/ip firewall filter add chain=nhn-g16b7d613-fwd action=accept out-interface-list=nhn-g16b7d613-lan comment="nhn-appliance g16b7d613: within the LAN"
/ip firewall filter add chain=nhn-g16b7d613-fwd action=jump jump-target=nhn-g16b7d613-p-fjernhjelp-leverandor src-address-list=nhn-g16b7d613-p-fjernhjelp-leverandor comment="nhn-appliance g16b7d613: profile fjernhjelp-leverandor"
# profile fjernhjelp-leverandor (fjernhjelp, 004:54-61): leverandor-pc
/ip firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-lokale-adresser out-interface=ether1 comment="nhn-appliance g16b7d613: fjernhjelp/lokale-adresser 004:56-59"
/ip firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-lokale-adresser out-interface=ether2 comment="nhn-appliance g16b7d613: fjernhjelp/lokale-adresser 004:56-59"
/ip firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-dns protocol=udp dst-port=53 out-interface=ether1 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ip firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-dns protocol=tcp dst-port=53 out-interface=ether1 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ip firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-dns protocol=udp dst-port=53 out-interface=ether2 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ip firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-dns protocol=tcp dst-port=53 out-interface=ether2 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ip firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-hjelp-internett protocol=tcp dst-port=443,8041 out-interface=ether2 comment="nhn-appliance g16b7d613: fjernhjelp/hjelp-internett 004:60"
/ip firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=reject reject-with=tcp-reset protocol=tcp comment="nhn-appliance g16b7d613: fjernhjelp-leverandor: everything else blocked (004:54-61)"
/ip firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=reject reject-with=icmp-admin-prohibited comment="nhn-appliance g16b7d613: fjernhjelp-leverandor: everything else blocked (004:54-61)"
# forward: replies, then new connections from the LAN
/ip firewall filter add chain=nhn-g16b7d613-fwd action=jump jump-target=nhn-g16b7d613-p-videoutstyr src-address-list=nhn-g16b7d613-p-videoutstyr comment="nhn-appliance g16b7d613: profile videoutstyr"
# profile videoutstyr (videokonferanse, 002:666-668): videorom
/ip firewall filter add chain=nhn-g16b7d613-p-videoutstyr action=accept dst-address-list=nhn-g16b7d613-videokonferanse-helsenett out-interface=ether1 comment="nhn-appliance g16b7d613: videokonferanse/helsenett 002:664-668"
/ip firewall filter add chain=nhn-g16b7d613-p-videoutstyr action=reject reject-with=tcp-reset protocol=tcp comment="nhn-appliance g16b7d613: videoutstyr: everything else blocked (002:666-668)"
/ip firewall filter add chain=nhn-g16b7d613-p-videoutstyr action=reject reject-with=icmp-admin-prohibited comment="nhn-appliance g16b7d613: videoutstyr: everything else blocked (002:666-668)"
# forward: replies, then new connections from the LAN
/ip firewall filter add chain=nhn-g16b7d613-fwd action=drop src-address-list=!nhn-g16b7d613-lan-prefixes comment="nhn-appliance g16b7d613: source not in the LAN prefixes"
/ip firewall filter add chain=nhn-g16b7d613-fwd action=jump jump-target=nhn-g16b7d613-site comment="nhn-appliance g16b7d613: the LAN"
# the LAN of legekontor-eksempel: outbound blocked
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-videokonferanse-helsenett out-interface=ether1 comment="nhn-appliance g16b7d613: videokonferanse/helsenett 002:664-668"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-betalingsterminal-betalingsaksess out-interface=ether1 comment="nhn-appliance g16b7d613: betalingsterminal/betalingsaksess 002:547"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-helsenett protocol=tcp dst-port=443,8041 out-interface=ether1 comment="nhn-appliance g16b7d613: fjernhjelp/helsenett 002:85-86"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-internett protocol=tcp dst-port=443,8041 out-interface=ether2 comment="nhn-appliance g16b7d613: fjernhjelp/internett 002:88-89, 004:60"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-helsenett-signalering protocol=tcp dst-port=80,443,1720,5060-5061 out-interface=ether1 comment="nhn-appliance g16b7d613: join/helsenett-signalering 002:370-376, 002:379-383"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-helsenett-signalering protocol=udp dst-port=1719,5060 out-interface=ether1 comment="nhn-appliance g16b7d613: join/helsenett-signalering 002:370-376, 002:379-383"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-helsenett-media protocol=tcp dst-port=40000-49999 out-interface=ether1 comment="nhn-appliance g16b7d613: join/helsenett-media 002:377-383"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-helsenett-media protocol=udp dst-port=40000-54999 out-interface=ether1 comment="nhn-appliance g16b7d613: join/helsenett-media 002:377-383"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-usikker-sone-signalering protocol=tcp dst-port=80,443,1720,5060-5061 out-interface=ether1 comment="nhn-appliance g16b7d613: join/usikker-sone-signalering 002:370-376, 002:384"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-usikker-sone-signalering protocol=udp dst-port=1719,5060 out-interface=ether1 comment="nhn-appliance g16b7d613: join/usikker-sone-signalering 002:370-376, 002:384"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-usikker-sone-signalering protocol=tcp dst-port=80,443,1720,5060-5061 out-interface=ether2 comment="nhn-appliance g16b7d613: join/usikker-sone-signalering 002:370-376, 002:384"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-usikker-sone-signalering protocol=udp dst-port=1719,5060 out-interface=ether2 comment="nhn-appliance g16b7d613: join/usikker-sone-signalering 002:370-376, 002:384"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-usikker-sone-media protocol=tcp dst-port=40000-49999 out-interface=ether1 comment="nhn-appliance g16b7d613: join/usikker-sone-media 002:377-378, 002:384"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-usikker-sone-media protocol=udp dst-port=40000-54999 out-interface=ether1 comment="nhn-appliance g16b7d613: join/usikker-sone-media 002:377-378, 002:384"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-usikker-sone-media protocol=tcp dst-port=40000-49999 out-interface=ether2 comment="nhn-appliance g16b7d613: join/usikker-sone-media 002:377-378, 002:384"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-usikker-sone-media protocol=udp dst-port=40000-54999 out-interface=ether2 comment="nhn-appliance g16b7d613: join/usikker-sone-media 002:377-378, 002:384"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-internett-signalering protocol=tcp dst-port=80,443,1720,5060-5061 out-interface=ether2 comment="nhn-appliance g16b7d613: join/internett-signalering 002:370-376, 002:386-393"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-internett-signalering protocol=udp dst-port=1719,5060 out-interface=ether2 comment="nhn-appliance g16b7d613: join/internett-signalering 002:370-376, 002:386-393"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-internett-media protocol=tcp dst-port=40000-49999 out-interface=ether2 comment="nhn-appliance g16b7d613: join/internett-media 002:377-378, 002:386-393"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-join-internett-media protocol=udp dst-port=40000-54999 out-interface=ether2 comment="nhn-appliance g16b7d613: join/internett-media 002:377-378, 002:386-393"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-cma-signalering protocol=tcp dst-port=80,443,5222 out-interface=ether2 comment="nhn-appliance g16b7d613: cma/signalering 002:344-349, 002:352"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-cma-signalering protocol=udp dst-port=3478 out-interface=ether2 comment="nhn-appliance g16b7d613: cma/signalering 002:344-349, 002:352"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-cma-media protocol=udp dst-port=50000-51000 out-interface=ether2 comment="nhn-appliance g16b7d613: cma/media 002:350, 002:352"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-proxy-sikker-proxy protocol=tcp dst-port=8080 out-interface=ether1 comment="nhn-appliance g16b7d613: proxy/sikker-proxy 002:524-528"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-proxy-kunde-proxy protocol=tcp dst-port=8080 out-interface=ether1 comment="nhn-appliance g16b7d613: proxy/kunde-proxy 002:555-556"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-proxy-pac protocol=tcp dst-port=80 out-interface=ether1 comment="nhn-appliance g16b7d613: proxy/pac 002:530"
/ip firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-ntp-ntp-nhn protocol=udp dst-port=123 out-interface=ether1 comment="nhn-appliance g16b7d613: ntp/ntp-nhn 002:486"
/ip firewall filter add chain=nhn-g16b7d613-site action=reject reject-with=tcp-reset protocol=tcp dst-address-list=nhn-g16b7d613-betalingsterminal-secure-access-feil out-interface=ether1 comment="nhn-appliance g16b7d613: betalingsterminal/secure-access-feil 002:549"
/ip firewall filter add chain=nhn-g16b7d613-site action=reject reject-with=icmp-admin-prohibited dst-address-list=nhn-g16b7d613-betalingsterminal-secure-access-feil out-interface=ether1 comment="nhn-appliance g16b7d613: betalingsterminal/secure-access-feil 002:549"
/ip firewall filter add chain=nhn-g16b7d613-site action=reject reject-with=tcp-reset protocol=tcp comment="nhn-appliance g16b7d613: outbound blocked: nothing else leaves the site"
/ip firewall filter add chain=nhn-g16b7d613-site action=reject reject-with=icmp-admin-prohibited comment="nhn-appliance g16b7d613: outbound blocked: nothing else leaves the site"
# QoS: DSCP by destination, protocol and port (policy.qos), LAN to uplink
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=34 passthrough=no dst-address=10.145.128.0/17 comment="nhn-appliance g16b7d613: QoS interaktiv-video (DSCP 34): videokonferanse/helsenett"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=26 passthrough=no dst-address=193.214.20.211 comment="nhn-appliance g16b7d613: QoS forretningskritisk (DSCP 26): betalingsterminal/betalingsaksess"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.128.0/28 protocol=tcp dst-port=80 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/usikker-sone-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.128.0/28 protocol=tcp dst-port=443 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/usikker-sone-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.128.0/28 protocol=tcp dst-port=1720 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/usikker-sone-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.128.0/28 protocol=tcp dst-port=5060-5061 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/usikker-sone-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=34 passthrough=no dst-address=83.118.128.0/28 protocol=tcp dst-port=40000-49999 comment="nhn-appliance g16b7d613: QoS interaktiv-video (DSCP 34): join/usikker-sone-media"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.185.0/27 protocol=tcp dst-port=80 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.185.0/27 protocol=tcp dst-port=443 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.185.0/27 protocol=tcp dst-port=1720 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.185.0/27 protocol=tcp dst-port=5060-5061 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=34 passthrough=no dst-address=83.118.185.0/27 protocol=tcp dst-port=40000-49999 comment="nhn-appliance g16b7d613: QoS interaktiv-video (DSCP 34): join/internett-media"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.188.228-83.118.188.234 protocol=tcp dst-port=80 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.188.228-83.118.188.234 protocol=tcp dst-port=443 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.188.228-83.118.188.234 protocol=tcp dst-port=1720 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.188.228-83.118.188.234 protocol=tcp dst-port=5060-5061 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=34 passthrough=no dst-address=83.118.188.228-83.118.188.234 protocol=tcp dst-port=40000-49999 comment="nhn-appliance g16b7d613: QoS interaktiv-video (DSCP 34): join/internett-media"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=26 passthrough=no dst-address=91.186.66.22 protocol=tcp dst-port=443 comment="nhn-appliance g16b7d613: QoS forretningskritisk (DSCP 26): fjernhjelp/internett"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=26 passthrough=no dst-address=91.186.66.22 protocol=tcp dst-port=8041 comment="nhn-appliance g16b7d613: QoS forretningskritisk (DSCP 26): fjernhjelp/internett"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=91.186.67.134 protocol=tcp dst-port=80 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): cma/signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=91.186.67.134 protocol=tcp dst-port=443 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): cma/signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=91.186.67.134 protocol=tcp dst-port=5222 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): cma/signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=91.186.92.28-91.186.92.32 protocol=tcp dst-port=80 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/helsenett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=91.186.92.28-91.186.92.32 protocol=tcp dst-port=443 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/helsenett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=91.186.92.28-91.186.92.32 protocol=tcp dst-port=1720 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/helsenett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=91.186.92.28-91.186.92.32 protocol=tcp dst-port=5060-5061 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/helsenett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=34 passthrough=no dst-address=91.186.92.28-91.186.92.32 protocol=tcp dst-port=40000-49999 comment="nhn-appliance g16b7d613: QoS interaktiv-video (DSCP 34): join/helsenett-media"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=26 passthrough=no dst-address=91.186.92.90 protocol=tcp dst-port=443 comment="nhn-appliance g16b7d613: QoS forretningskritisk (DSCP 26): fjernhjelp/helsenett"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=26 passthrough=no dst-address=91.186.92.90 protocol=tcp dst-port=8041 comment="nhn-appliance g16b7d613: QoS forretningskritisk (DSCP 26): fjernhjelp/helsenett"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=26 passthrough=no dst-address=185.84.36.241 protocol=tcp dst-port=8080 comment="nhn-appliance g16b7d613: QoS forretningskritisk (DSCP 26): proxy/sikker-proxy"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=8 passthrough=no dst-address=203.0.113.80 protocol=tcp dst-port=8080 comment="nhn-appliance g16b7d613: QoS lavprioritet (DSCP 8): proxy/kunde-proxy"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=26 passthrough=no dst-address=203.0.113.81 protocol=tcp dst-port=80 comment="nhn-appliance g16b7d613: QoS forretningskritisk (DSCP 26): proxy/pac"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.128.0/28 protocol=udp dst-port=1719 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/usikker-sone-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.128.0/28 protocol=udp dst-port=5060 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/usikker-sone-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=34 passthrough=no dst-address=83.118.128.0/28 protocol=udp dst-port=40000-54999 comment="nhn-appliance g16b7d613: QoS interaktiv-video (DSCP 34): join/usikker-sone-media"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.185.0/27 protocol=udp dst-port=1719 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.185.0/27 protocol=udp dst-port=5060 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=34 passthrough=no dst-address=83.118.185.0/27 protocol=udp dst-port=40000-54999 comment="nhn-appliance g16b7d613: QoS interaktiv-video (DSCP 34): join/internett-media"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.188.228-83.118.188.234 protocol=udp dst-port=1719 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=83.118.188.228-83.118.188.234 protocol=udp dst-port=5060 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/internett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=34 passthrough=no dst-address=83.118.188.228-83.118.188.234 protocol=udp dst-port=40000-54999 comment="nhn-appliance g16b7d613: QoS interaktiv-video (DSCP 34): join/internett-media"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=91.186.67.134 protocol=udp dst-port=3478 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): cma/signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=34 passthrough=no dst-address=91.186.67.134 protocol=udp dst-port=50000-51000 comment="nhn-appliance g16b7d613: QoS interaktiv-video (DSCP 34): cma/media"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=91.186.92.28-91.186.92.32 protocol=udp dst-port=1719 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/helsenett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=24 passthrough=no dst-address=91.186.92.28-91.186.92.32 protocol=udp dst-port=5060 comment="nhn-appliance g16b7d613: QoS signalering (DSCP 24): join/helsenett-signalering"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=34 passthrough=no dst-address=91.186.92.28-91.186.92.32 protocol=udp dst-port=40000-54999 comment="nhn-appliance g16b7d613: QoS interaktiv-video (DSCP 34): join/helsenett-media"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=48 passthrough=no dst-address=203.0.113.123 protocol=udp dst-port=123 comment="nhn-appliance g16b7d613: QoS nettverkskontroll (DSCP 48): ntp/ntp-nhn"
/ip firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=0 passthrough=no comment="nhn-appliance g16b7d613: no class: DSCP 0 (a hosts own marking is not trusted)"
# ---- IPv6 ----
/ipv6 firewall address-list add list=nhn-g16b7d613-p-fjernhjelp-leverandor address=2001:db8:10::50 comment="nhn-appliance g16b7d613: profile fjernhjelp-leverandor: leverandor-pc"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=::/3 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2000::/16 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001::/21 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:800::/22 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:c00::/24 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:d00::/25 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:d80::/27 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:da0::/28 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db0::/29 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8::/44 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:1::/64 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:2::/63 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:4::/62 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:8::/61 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:10::/60 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:20::/59 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:40::/58 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:80::/57 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:100::/56 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:200::/55 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:400::/54 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:800::/53 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:1000::/52 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:2000::/51 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:4000::/50 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:10:8000::/49 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:11::/48 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:12::/47 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:14::/46 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:18::/45 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:20::/43 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:40::/42 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:80::/41 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:100::/40 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:200::/39 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:400::/38 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:800::/37 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:1000::/36 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:2000::/35 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:4000::/34 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db8:8000::/33 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:db9::/32 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:dba::/31 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:dbc::/30 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:dc0::/26 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:e00::/23 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:1000::/20 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:2000::/19 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:4000::/18 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2001:8000::/17 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2002::/15 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2004::/14 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2008::/13 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2010::/12 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2020::/11 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2040::/10 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2080::/9 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2100::/8 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2200::/7 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2400::/6 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=2800::/5 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=3000::/4 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=4000::/2 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-fjernhjelp-dns address=8000::/1 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall address-list add list=nhn-g16b7d613-p-videoutstyr address=2001:db8:10::60 comment="nhn-appliance g16b7d613: profile videoutstyr: videorom"
/ipv6 firewall address-list add list=nhn-g16b7d613-lan-prefixes address=2001:db8:10::/64 comment="nhn-appliance g16b7d613: LAN prefixes"
/ipv6 firewall address-list add list=nhn-g16b7d613-proxy-pac address=2001:db8:81::1 comment="nhn-appliance g16b7d613: proxy/pac 002:530"
# forward: replies, then new connections from the LAN
/ipv6 firewall filter add chain=nhn-g16b7d613-fwd action=accept connection-state=established,related comment="nhn-appliance g16b7d613: replies to allowed connections (here, so FastTrack never skips the marking)"
/ipv6 firewall filter add chain=nhn-g16b7d613-fwd action=drop connection-state=invalid comment="nhn-appliance g16b7d613: invalid packets"
/ipv6 firewall filter add chain=nhn-g16b7d613-fwd action=drop in-interface-list=!nhn-g16b7d613-lan comment="nhn-appliance g16b7d613: new connections only from the LAN"
/ipv6 firewall filter add chain=nhn-g16b7d613-fwd action=accept out-interface-list=nhn-g16b7d613-lan comment="nhn-appliance g16b7d613: within the LAN"
/ipv6 firewall filter add chain=nhn-g16b7d613-fwd action=jump jump-target=nhn-g16b7d613-p-fjernhjelp-leverandor src-address-list=nhn-g16b7d613-p-fjernhjelp-leverandor comment="nhn-appliance g16b7d613: profile fjernhjelp-leverandor"
# profile fjernhjelp-leverandor (fjernhjelp, 004:54-61): leverandor-pc
/ipv6 firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-dns protocol=udp dst-port=53 out-interface=ether1 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-dns protocol=tcp dst-port=53 out-interface=ether1 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-dns protocol=udp dst-port=53 out-interface=ether2 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=accept dst-address-list=nhn-g16b7d613-fjernhjelp-dns protocol=tcp dst-port=53 out-interface=ether2 comment="nhn-appliance g16b7d613: fjernhjelp/dns 004:55"
/ipv6 firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=reject reject-with=tcp-reset protocol=tcp comment="nhn-appliance g16b7d613: fjernhjelp-leverandor: everything else blocked (004:54-61)"
/ipv6 firewall filter add chain=nhn-g16b7d613-p-fjernhjelp-leverandor action=reject reject-with=icmp-admin-prohibited comment="nhn-appliance g16b7d613: fjernhjelp-leverandor: everything else blocked (004:54-61)"
# forward: replies, then new connections from the LAN
/ipv6 firewall filter add chain=nhn-g16b7d613-fwd action=jump jump-target=nhn-g16b7d613-p-videoutstyr src-address-list=nhn-g16b7d613-p-videoutstyr comment="nhn-appliance g16b7d613: profile videoutstyr"
# profile videoutstyr (videokonferanse, 002:666-668): videorom
/ipv6 firewall filter add chain=nhn-g16b7d613-p-videoutstyr action=reject reject-with=tcp-reset protocol=tcp comment="nhn-appliance g16b7d613: videoutstyr: everything else blocked (002:666-668)"
/ipv6 firewall filter add chain=nhn-g16b7d613-p-videoutstyr action=reject reject-with=icmp-admin-prohibited comment="nhn-appliance g16b7d613: videoutstyr: everything else blocked (002:666-668)"
# forward: replies, then new connections from the LAN
/ipv6 firewall filter add chain=nhn-g16b7d613-fwd action=drop src-address-list=!nhn-g16b7d613-lan-prefixes comment="nhn-appliance g16b7d613: source not in the LAN prefixes"
/ipv6 firewall filter add chain=nhn-g16b7d613-fwd action=jump jump-target=nhn-g16b7d613-site comment="nhn-appliance g16b7d613: the LAN"
# the LAN of legekontor-eksempel: outbound blocked
/ipv6 firewall filter add chain=nhn-g16b7d613-site action=accept dst-address-list=nhn-g16b7d613-proxy-pac protocol=tcp dst-port=80 out-interface=ether1 comment="nhn-appliance g16b7d613: proxy/pac 002:530"
/ipv6 firewall filter add chain=nhn-g16b7d613-site action=reject reject-with=tcp-reset protocol=tcp comment="nhn-appliance g16b7d613: outbound blocked: nothing else leaves the site"
/ipv6 firewall filter add chain=nhn-g16b7d613-site action=reject reject-with=icmp-admin-prohibited comment="nhn-appliance g16b7d613: outbound blocked: nothing else leaves the site"
# QoS: DSCP by destination, protocol and port (policy.qos), LAN to uplink
/ipv6 firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=26 passthrough=no dst-address=2001:db8:81::1 protocol=tcp dst-port=80 comment="nhn-appliance g16b7d613: QoS forretningskritisk (DSCP 26): proxy/pac"
/ipv6 firewall mangle add chain=nhn-g16b7d613-qos action=change-dscp new-dscp=0 passthrough=no comment="nhn-appliance g16b7d613: no class: DSCP 0 (a hosts own marking is not trusted)"
/ip firewall filter add chain=nhn-g16b7d613-done action=return comment="nhn-appliance g16b7d613: complete"
}

# 4. switch each table to the generation, once it is complete
:if (([:len [/ip firewall filter find where comment="nhn-appliance g16b7d613: complete"]] > 0) && ([:len [/ip firewall filter find where comment="nhn-appliance g16b7d613: jump"]] = 0)) do={/ip firewall filter add chain=forward action=jump jump-target=nhn-g16b7d613-fwd in-interface-list=nhn-g16b7d613-all place-before=[:pick [/ip firewall filter find where dynamic=no] 0] comment="nhn-appliance g16b7d613: jump"}
:if (([:len [/ip firewall filter find where comment="nhn-appliance g16b7d613: complete"]] > 0) && ([:len [/ipv6 firewall filter find where comment="nhn-appliance g16b7d613: jump"]] = 0)) do={/ipv6 firewall filter add chain=forward action=jump jump-target=nhn-g16b7d613-fwd in-interface-list=nhn-g16b7d613-all place-before=[:pick [/ipv6 firewall filter find where dynamic=no] 0] comment="nhn-appliance g16b7d613: jump"}
:if (([:len [/ip firewall filter find where comment="nhn-appliance g16b7d613: complete"]] > 0) && ([:len [/ip firewall mangle find where comment="nhn-appliance g16b7d613: jump"]] = 0)) do={/ip firewall mangle add chain=forward action=jump jump-target=nhn-g16b7d613-qos in-interface-list=nhn-g16b7d613-lan out-interface-list=nhn-g16b7d613-wan place-before=[:pick [/ip firewall mangle find where dynamic=no] 0] comment="nhn-appliance g16b7d613: jump"}
:if (([:len [/ip firewall filter find where comment="nhn-appliance g16b7d613: complete"]] > 0) && ([:len [/ipv6 firewall mangle find where comment="nhn-appliance g16b7d613: jump"]] = 0)) do={/ipv6 firewall mangle add chain=forward action=jump jump-target=nhn-g16b7d613-qos in-interface-list=nhn-g16b7d613-lan out-interface-list=nhn-g16b7d613-wan place-before=[:pick [/ipv6 firewall mangle find where dynamic=no] 0] comment="nhn-appliance g16b7d613: jump"}

# 5. once every table is switched: remove older generations and earlier versions' items
:if (([:len [/ip firewall filter find where comment="nhn-appliance g16b7d613: jump"]] > 0) && ([:len [/ipv6 firewall filter find where comment="nhn-appliance g16b7d613: jump"]] > 0) && ([:len [/ip firewall mangle find where comment="nhn-appliance g16b7d613: jump"]] > 0) && ([:len [/ipv6 firewall mangle find where comment="nhn-appliance g16b7d613: jump"]] > 0)) do={
/ip firewall filter remove [find where comment~"^nhn-appliance" && !(comment~"^nhn-appliance g16b7d613:")]
/ip firewall mangle remove [find where comment~"^nhn-appliance" && !(comment~"^nhn-appliance g16b7d613:")]
/ip firewall address-list remove [find where comment~"^nhn-appliance" && !(comment~"^nhn-appliance g16b7d613:")]
/ipv6 firewall filter remove [find where comment~"^nhn-appliance" && !(comment~"^nhn-appliance g16b7d613:")]
/ipv6 firewall mangle remove [find where comment~"^nhn-appliance" && !(comment~"^nhn-appliance g16b7d613:")]
/ipv6 firewall address-list remove [find where comment~"^nhn-appliance" && !(comment~"^nhn-appliance g16b7d613:")]
/interface list member remove [find where comment~"^nhn-appliance" && !(comment~"^nhn-appliance g16b7d613:")]
/interface list remove [find where comment~"^nhn-appliance" && !(comment~"^nhn-appliance g16b7d613:")]
}

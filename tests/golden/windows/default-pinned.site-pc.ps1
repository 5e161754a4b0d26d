#Requires -RunAsAdministrator
# Windows Firewall and QoS for a PC on the LAN of site legekontor-eksempel (outbound blocked)
# Run on: every PC on the LAN that has no profile
# Site file: appliance.toml
# made by nhn-appliance from catalogue revision 94bed88b7b8c
#
# HOW TO APPLY SAFELY
# 1. Run it on the PC itself, in an elevated Windows PowerShell 5.1 (through the remote-support
#    session is fine):  powershell.exe -NoProfile -ExecutionPolicy Bypass -File site-pc.ps1
#    Windows re-checks every open connection at each firewall change, so the order is the safety:
#    this run's rules are added first (group 'nhn-appliance'), then the previous run's rules are
#    disabled, then the default outbound action becomes Block, last.
#    Every opening (remote support included) is in place before anything is blocked.
# 2. Any error: the script puts back the previous rules, the default outbound action and any
#    Windows rule it disabled, removes this run's rules and QoS policies, and stops with the error.
# 3. It registers the scheduled task 'nhn-appliance-rollback', which does the same in 10 minutes
#    unless you confirm. Check what the PC needs (remote support, video, the journal), then confirm:
#      Unregister-ScheduledTask -TaskName 'nhn-appliance-rollback' -Confirm:$false; Get-NetFirewallRule -Group 'nhn-appliance' | Where-Object Enabled -eq 'False' | Remove-NetFirewallRule
#    (the second part removes the previous run's disabled rules; the next run removes them too).
#    The task restores the firewall only: QoS policies and the winhttp proxy stay as this run left them.
# WHAT IT EXPECTS: Windows 10/11 or Server 2016 or later with the NetSecurity, NetQos and
#    ScheduledTasks modules; the Windows Firewall on in every profile (Get-NetFirewallProfile shows
#    Enabled True); local rules not overridden by group policy; no earlier run awaiting
#    confirmation (the script refuses to start while the task 'nhn-appliance-rollback' exists).
# WINDOWS' OWN ALLOW RULES (builtin-allow=list): enabled outbound Allow rules outside the group
#    (Core Networking DNS and DHCP, applications' rules) still let traffic out past this policy;
#    the script changes none of them and lists them at the end (render with
#    -O builtin-allow=disable to disable them, with rollback).
# DSCP: on a PC outside a domain Windows applies DSCP policies only with the registry value
#    'Do not use NLA' (render with -O dscp-without-domain=yes to set it; the line is below, commented out).
#    Traffic no class names leaves with DSCP 0 (a catch-all policy per family).
# WARNING: 3 name(s) not pinned, their rules are left out: helseid-sts.nhn.no, idporten.difi.no, oidc.difi.no, run nhn-appliance resolve to pin them
# left out: fjernhjelp/dns: its part inside the LAN prefixes (192.168.10.0/24, 2001:db8:10::/64) is LAN traffic, not an uplink opening
# left out: fjernhjelp/lokale-adresser: its part inside the LAN prefixes (192.168.10.0/24) is LAN traffic, not an uplink opening
# left out: dns/resolvere: 192.168.10.1 lies inside the LAN prefixes: LAN traffic, not an uplink opening
# left out: helseid/helseid: helseid-sts.nhn.no is not pinned
# left out: helseid/idporten: idporten.difi.no is not pinned
# left out: helseid/idporten: oidc.difi.no is not pinned
# route via helsenett (wan-hn):
#   10.145.128.0/17, 91.102.24.142, 91.186.92.28-91.186.92.32, 91.186.92.90
#   185.84.36.241, 193.214.20.211, 203.0.113.80/31, 203.0.113.123
#   2001:db8:81::1
# route via internett (wan-inet):
#   83.118.185.0/27, 83.118.188.228-83.118.188.234, 91.186.66.22, 91.186.67.134
$ErrorActionPreference = 'Stop'
if (Get-ScheduledTask -TaskName 'nhn-appliance-rollback' -ErrorAction SilentlyContinue) { throw 'nhn-appliance: an earlier run awaits confirmation (scheduled task nhn-appliance-rollback); confirm it or let it roll back, then run this again' }
$dir = Join-Path $env:ProgramData 'nhn-appliance'
$run = 'nhn-appliance-' + (Get-Date -Format 'yyyyMMddHHmmss')

# What is there now, saved before any change, for an error or the rollback task to put back.
# Rules an earlier, confirmed run disabled are not in force: removing them changes no verdict.
Get-NetFirewallRule -Group 'nhn-appliance' -ErrorAction SilentlyContinue | Where-Object Enabled -eq 'False' | Remove-NetFirewallRule
$old = @(Get-NetFirewallRule -Group 'nhn-appliance' -ErrorAction SilentlyContinue | Select-Object -ExpandProperty Name)
$oldQos = @(Get-NetQosPolicy -ErrorAction SilentlyContinue | Where-Object Name -like 'nhn-appliance-*' | Select-Object -ExpandProperty Name)
$builtin = @()
$state = @{ Run = $run; Old = $old; Builtin = $builtin; Domain = (Get-NetFirewallProfile -Name Domain).DefaultOutboundAction; Private = (Get-NetFirewallProfile -Name Private).DefaultOutboundAction; Public = (Get-NetFirewallProfile -Name Public).DefaultOutboundAction }
New-Item -ItemType Directory -Force -Path $dir | Out-Null
$state | Export-Clixml -Path (Join-Path $dir 'rollback.xml')
# The rollback: previous rules back first, then this run's removed, then the defaults; every step
# is tried even if one fails. Run by the catch below and by the scheduled task.
Set-Content -Path (Join-Path $dir 'rollback.ps1') -Encoding ASCII -Value @'
$ErrorActionPreference = 'Continue'
$s = Import-Clixml -Path (Join-Path $PSScriptRoot 'rollback.xml')
Get-NetFirewallRule -Group 'nhn-appliance' | Where-Object Name -in $s.Old | Enable-NetFirewallRule
Get-NetFirewallRule -Direction Outbound | Where-Object Name -in $s.Builtin | Enable-NetFirewallRule
Get-NetFirewallRule -Group 'nhn-appliance' | Where-Object Name -like ($s.Run + '-*') | Remove-NetFirewallRule
Set-NetFirewallProfile -Profile Domain -DefaultOutboundAction $s.Domain
Set-NetFirewallProfile -Profile Private -DefaultOutboundAction $s.Private
Set-NetFirewallProfile -Profile Public -DefaultOutboundAction $s.Public
Unregister-ScheduledTask -TaskName 'nhn-appliance-rollback' -Confirm:$false
'@

try {
    $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument '-NoProfile -ExecutionPolicy Bypass -File rollback.ps1' -WorkingDirectory $dir
    $trigger = New-ScheduledTaskTrigger -Once -At (Get-Date).AddMinutes(10)
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    Register-ScheduledTask -TaskName 'nhn-appliance-rollback' -Action $action -Trigger $trigger -Principal $principal | Out-Null

    # Firewall rules of this run; Windows applies every Block rule before any Allow rule.
    # within the LAN: the router passes traffic between LAN hosts
    New-NetFirewallRule -Name ($run + '-001') -DisplayName 'nhn-appliance: within the LAN' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol Any -RemoteAddress '192.168.10.0/24','2001:db8:10::/64' | Out-Null
    # videokonferanse/helsenett 002:664-668
    New-NetFirewallRule -Name ($run + '-002') -DisplayName 'nhn-appliance: videokonferanse/helsenett (any)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol Any -RemoteAddress '10.145.128.0/17' | Out-Null
    # betalingsterminal/betalingsaksess 002:547
    New-NetFirewallRule -Name ($run + '-003') -DisplayName 'nhn-appliance: betalingsterminal/betalingsaksess (any)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol Any -RemoteAddress '193.214.20.211' | Out-Null
    # fjernhjelp/helsenett 002:85-86
    New-NetFirewallRule -Name ($run + '-004') -DisplayName 'nhn-appliance: fjernhjelp/helsenett (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '91.186.92.90' -RemotePort '443','8041' | Out-Null
    # fjernhjelp/internett 002:88-89, 004:60
    New-NetFirewallRule -Name ($run + '-005') -DisplayName 'nhn-appliance: fjernhjelp/internett (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '91.186.66.22' -RemotePort '443','8041' | Out-Null
    # join/helsenett-signalering 002:370-376, 002:379-383
    New-NetFirewallRule -Name ($run + '-006') -DisplayName 'nhn-appliance: join/helsenett-signalering (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '91.186.92.28-91.186.92.32' -RemotePort '80','443','1720','5060-5061' | Out-Null
    # join/helsenett-signalering 002:370-376, 002:379-383
    New-NetFirewallRule -Name ($run + '-007') -DisplayName 'nhn-appliance: join/helsenett-signalering (udp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol UDP -RemoteAddress '91.186.92.28-91.186.92.32' -RemotePort '1719','5060' | Out-Null
    # join/helsenett-media 002:377-383
    New-NetFirewallRule -Name ($run + '-008') -DisplayName 'nhn-appliance: join/helsenett-media (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '91.186.92.28-91.186.92.32' -RemotePort '40000-49999' | Out-Null
    # join/helsenett-media 002:377-383
    New-NetFirewallRule -Name ($run + '-009') -DisplayName 'nhn-appliance: join/helsenett-media (udp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol UDP -RemoteAddress '91.186.92.28-91.186.92.32' -RemotePort '40000-54999' | Out-Null
    # join/usikker-sone-signalering 002:370-376, 002:384
    New-NetFirewallRule -Name ($run + '-010') -DisplayName 'nhn-appliance: join/usikker-sone-signalering (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '83.118.128.0/28' -RemotePort '80','443','1720','5060-5061' | Out-Null
    # join/usikker-sone-signalering 002:370-376, 002:384
    New-NetFirewallRule -Name ($run + '-011') -DisplayName 'nhn-appliance: join/usikker-sone-signalering (udp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol UDP -RemoteAddress '83.118.128.0/28' -RemotePort '1719','5060' | Out-Null
    # join/usikker-sone-media 002:377-378, 002:384
    New-NetFirewallRule -Name ($run + '-012') -DisplayName 'nhn-appliance: join/usikker-sone-media (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '83.118.128.0/28' -RemotePort '40000-49999' | Out-Null
    # join/usikker-sone-media 002:377-378, 002:384
    New-NetFirewallRule -Name ($run + '-013') -DisplayName 'nhn-appliance: join/usikker-sone-media (udp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol UDP -RemoteAddress '83.118.128.0/28' -RemotePort '40000-54999' | Out-Null
    # join/internett-signalering 002:370-376, 002:386-393
    New-NetFirewallRule -Name ($run + '-014') -DisplayName 'nhn-appliance: join/internett-signalering (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '83.118.185.0/27','83.118.188.228-83.118.188.234' -RemotePort '80','443','1720','5060-5061' | Out-Null
    # join/internett-signalering 002:370-376, 002:386-393
    New-NetFirewallRule -Name ($run + '-015') -DisplayName 'nhn-appliance: join/internett-signalering (udp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol UDP -RemoteAddress '83.118.185.0/27','83.118.188.228-83.118.188.234' -RemotePort '1719','5060' | Out-Null
    # join/internett-media 002:377-378, 002:386-393
    New-NetFirewallRule -Name ($run + '-016') -DisplayName 'nhn-appliance: join/internett-media (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '83.118.185.0/27','83.118.188.228-83.118.188.234' -RemotePort '40000-49999' | Out-Null
    # join/internett-media 002:377-378, 002:386-393
    New-NetFirewallRule -Name ($run + '-017') -DisplayName 'nhn-appliance: join/internett-media (udp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol UDP -RemoteAddress '83.118.185.0/27','83.118.188.228-83.118.188.234' -RemotePort '40000-54999' | Out-Null
    # cma/signalering 002:344-349, 002:352
    New-NetFirewallRule -Name ($run + '-018') -DisplayName 'nhn-appliance: cma/signalering (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '91.186.67.134' -RemotePort '80','443','5222' | Out-Null
    # cma/signalering 002:344-349, 002:352
    New-NetFirewallRule -Name ($run + '-019') -DisplayName 'nhn-appliance: cma/signalering (udp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol UDP -RemoteAddress '91.186.67.134' -RemotePort '3478' | Out-Null
    # cma/media 002:350, 002:352
    New-NetFirewallRule -Name ($run + '-020') -DisplayName 'nhn-appliance: cma/media (udp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol UDP -RemoteAddress '91.186.67.134' -RemotePort '50000-51000' | Out-Null
    # proxy/sikker-proxy 002:524-528
    New-NetFirewallRule -Name ($run + '-021') -DisplayName 'nhn-appliance: proxy/sikker-proxy (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '185.84.36.241' -RemotePort '8080' | Out-Null
    # proxy/kunde-proxy 002:555-556
    New-NetFirewallRule -Name ($run + '-022') -DisplayName 'nhn-appliance: proxy/kunde-proxy (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '203.0.113.80' -RemotePort '8080' | Out-Null
    # proxy/pac 002:530
    New-NetFirewallRule -Name ($run + '-023') -DisplayName 'nhn-appliance: proxy/pac (tcp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress '203.0.113.81','2001:db8:81::1' -RemotePort '80' | Out-Null
    # ntp/ntp-nhn 002:486
    New-NetFirewallRule -Name ($run + '-024') -DisplayName 'nhn-appliance: ntp/ntp-nhn (udp)' -Group 'nhn-appliance' -Direction Outbound -Action Allow -Protocol UDP -RemoteAddress '203.0.113.123' -RemotePort '123' | Out-Null
    # betalingsterminal/secure-access-feil 002:549
    New-NetFirewallRule -Name ($run + '-025') -DisplayName 'nhn-appliance: betalingsterminal/secure-access-feil (any, reject)' -Group 'nhn-appliance' -Direction Outbound -Action Block -Protocol Any -RemoteAddress '91.102.24.142' | Out-Null

    # The previous run's rules: disabled only now, when this run's are in force.
    Get-NetFirewallRule -Group 'nhn-appliance' | Where-Object Name -in $old | Disable-NetFirewallRule

    # QoS: DSCP by destination, protocol and port (policy.qos), one policy per prefix.
    # The catch-all policies re-mark what no class names to DSCP 0; Windows applies the most
    # specific matching policy, so the class policies (longer prefixes, ports) win where they match.
    New-NetQosPolicy -Name ($run + '-q000-v4') -IPDstPrefixMatchCondition '0.0.0.0/0' -DSCPAction 0 -NetworkProfile All | Out-Null
    New-NetQosPolicy -Name ($run + '-q000-v6') -IPDstPrefixMatchCondition '::/0' -DSCPAction 0 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): videokonferanse/helsenett
    New-NetQosPolicy -Name ($run + '-q001-interaktiv-video') -IPDstPrefixMatchCondition '10.145.128.0/17' -IPProtocolMatchCondition Both -DSCPAction 34 -NetworkProfile All | Out-Null
    # forretningskritisk (DSCP 26): betalingsterminal/betalingsaksess
    New-NetQosPolicy -Name ($run + '-q002-forretningskritisk') -IPDstPrefixMatchCondition '193.214.20.211' -IPProtocolMatchCondition Both -DSCPAction 26 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/usikker-sone-signalering
    New-NetQosPolicy -Name ($run + '-q003-signalering') -IPDstPrefixMatchCondition '83.118.128.0/28' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 80 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/usikker-sone-signalering
    New-NetQosPolicy -Name ($run + '-q004-signalering') -IPDstPrefixMatchCondition '83.118.128.0/28' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/usikker-sone-signalering
    New-NetQosPolicy -Name ($run + '-q005-signalering') -IPDstPrefixMatchCondition '83.118.128.0/28' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 1720 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/usikker-sone-signalering
    New-NetQosPolicy -Name ($run + '-q006-signalering') -IPDstPrefixMatchCondition '83.118.128.0/28' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 5060 -IPDstPortEndMatchCondition 5061 -DSCPAction 24 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/usikker-sone-media
    New-NetQosPolicy -Name ($run + '-q007-interaktiv-video') -IPDstPrefixMatchCondition '83.118.128.0/28' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 49999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q008-signalering') -IPDstPrefixMatchCondition '83.118.185.0/27' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 80 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q009-signalering') -IPDstPrefixMatchCondition '83.118.185.0/27' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q010-signalering') -IPDstPrefixMatchCondition '83.118.185.0/27' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 1720 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q011-signalering') -IPDstPrefixMatchCondition '83.118.185.0/27' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 5060 -IPDstPortEndMatchCondition 5061 -DSCPAction 24 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/internett-media
    New-NetQosPolicy -Name ($run + '-q012-interaktiv-video') -IPDstPrefixMatchCondition '83.118.185.0/27' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 49999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q013-signalering') -IPDstPrefixMatchCondition '83.118.188.228/30' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 80 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q014-signalering') -IPDstPrefixMatchCondition '83.118.188.232/31' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 80 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q015-signalering') -IPDstPrefixMatchCondition '83.118.188.234' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 80 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q016-signalering') -IPDstPrefixMatchCondition '83.118.188.228/30' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q017-signalering') -IPDstPrefixMatchCondition '83.118.188.232/31' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q018-signalering') -IPDstPrefixMatchCondition '83.118.188.234' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q019-signalering') -IPDstPrefixMatchCondition '83.118.188.228/30' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 1720 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q020-signalering') -IPDstPrefixMatchCondition '83.118.188.232/31' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 1720 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q021-signalering') -IPDstPrefixMatchCondition '83.118.188.234' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 1720 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q022-signalering') -IPDstPrefixMatchCondition '83.118.188.228/30' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 5060 -IPDstPortEndMatchCondition 5061 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q023-signalering') -IPDstPrefixMatchCondition '83.118.188.232/31' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 5060 -IPDstPortEndMatchCondition 5061 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q024-signalering') -IPDstPrefixMatchCondition '83.118.188.234' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 5060 -IPDstPortEndMatchCondition 5061 -DSCPAction 24 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/internett-media
    New-NetQosPolicy -Name ($run + '-q025-interaktiv-video') -IPDstPrefixMatchCondition '83.118.188.228/30' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 49999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/internett-media
    New-NetQosPolicy -Name ($run + '-q026-interaktiv-video') -IPDstPrefixMatchCondition '83.118.188.232/31' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 49999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/internett-media
    New-NetQosPolicy -Name ($run + '-q027-interaktiv-video') -IPDstPrefixMatchCondition '83.118.188.234' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 49999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # forretningskritisk (DSCP 26): fjernhjelp/internett
    New-NetQosPolicy -Name ($run + '-q028-forretningskritisk') -IPDstPrefixMatchCondition '91.186.66.22' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 -DSCPAction 26 -NetworkProfile All | Out-Null
    # forretningskritisk (DSCP 26): fjernhjelp/internett
    New-NetQosPolicy -Name ($run + '-q029-forretningskritisk') -IPDstPrefixMatchCondition '91.186.66.22' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 8041 -DSCPAction 26 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): cma/signalering
    New-NetQosPolicy -Name ($run + '-q030-signalering') -IPDstPrefixMatchCondition '91.186.67.134' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 80 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): cma/signalering
    New-NetQosPolicy -Name ($run + '-q031-signalering') -IPDstPrefixMatchCondition '91.186.67.134' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): cma/signalering
    New-NetQosPolicy -Name ($run + '-q032-signalering') -IPDstPrefixMatchCondition '91.186.67.134' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 5222 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q033-signalering') -IPDstPrefixMatchCondition '91.186.92.28/30' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 80 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q034-signalering') -IPDstPrefixMatchCondition '91.186.92.32' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 80 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q035-signalering') -IPDstPrefixMatchCondition '91.186.92.28/30' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q036-signalering') -IPDstPrefixMatchCondition '91.186.92.32' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q037-signalering') -IPDstPrefixMatchCondition '91.186.92.28/30' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 1720 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q038-signalering') -IPDstPrefixMatchCondition '91.186.92.32' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 1720 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q039-signalering') -IPDstPrefixMatchCondition '91.186.92.28/30' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 5060 -IPDstPortEndMatchCondition 5061 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q040-signalering') -IPDstPrefixMatchCondition '91.186.92.32' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 5060 -IPDstPortEndMatchCondition 5061 -DSCPAction 24 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/helsenett-media
    New-NetQosPolicy -Name ($run + '-q041-interaktiv-video') -IPDstPrefixMatchCondition '91.186.92.28/30' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 49999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/helsenett-media
    New-NetQosPolicy -Name ($run + '-q042-interaktiv-video') -IPDstPrefixMatchCondition '91.186.92.32' -IPProtocolMatchCondition TCP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 49999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # forretningskritisk (DSCP 26): fjernhjelp/helsenett
    New-NetQosPolicy -Name ($run + '-q043-forretningskritisk') -IPDstPrefixMatchCondition '91.186.92.90' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 443 -DSCPAction 26 -NetworkProfile All | Out-Null
    # forretningskritisk (DSCP 26): fjernhjelp/helsenett
    New-NetQosPolicy -Name ($run + '-q044-forretningskritisk') -IPDstPrefixMatchCondition '91.186.92.90' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 8041 -DSCPAction 26 -NetworkProfile All | Out-Null
    # forretningskritisk (DSCP 26): proxy/sikker-proxy
    New-NetQosPolicy -Name ($run + '-q045-forretningskritisk') -IPDstPrefixMatchCondition '185.84.36.241' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 8080 -DSCPAction 26 -NetworkProfile All | Out-Null
    # lavprioritet (DSCP 8): proxy/kunde-proxy
    New-NetQosPolicy -Name ($run + '-q046-lavprioritet') -IPDstPrefixMatchCondition '203.0.113.80' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 8080 -DSCPAction 8 -NetworkProfile All | Out-Null
    # forretningskritisk (DSCP 26): proxy/pac
    New-NetQosPolicy -Name ($run + '-q047-forretningskritisk') -IPDstPrefixMatchCondition '203.0.113.81' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 80 -DSCPAction 26 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/usikker-sone-signalering
    New-NetQosPolicy -Name ($run + '-q048-signalering') -IPDstPrefixMatchCondition '83.118.128.0/28' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 1719 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/usikker-sone-signalering
    New-NetQosPolicy -Name ($run + '-q049-signalering') -IPDstPrefixMatchCondition '83.118.128.0/28' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 5060 -DSCPAction 24 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/usikker-sone-media
    New-NetQosPolicy -Name ($run + '-q050-interaktiv-video') -IPDstPrefixMatchCondition '83.118.128.0/28' -IPProtocolMatchCondition UDP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 54999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q051-signalering') -IPDstPrefixMatchCondition '83.118.185.0/27' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 1719 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q052-signalering') -IPDstPrefixMatchCondition '83.118.185.0/27' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 5060 -DSCPAction 24 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/internett-media
    New-NetQosPolicy -Name ($run + '-q053-interaktiv-video') -IPDstPrefixMatchCondition '83.118.185.0/27' -IPProtocolMatchCondition UDP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 54999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q054-signalering') -IPDstPrefixMatchCondition '83.118.188.228/30' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 1719 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q055-signalering') -IPDstPrefixMatchCondition '83.118.188.232/31' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 1719 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q056-signalering') -IPDstPrefixMatchCondition '83.118.188.234' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 1719 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q057-signalering') -IPDstPrefixMatchCondition '83.118.188.228/30' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 5060 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q058-signalering') -IPDstPrefixMatchCondition '83.118.188.232/31' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 5060 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/internett-signalering
    New-NetQosPolicy -Name ($run + '-q059-signalering') -IPDstPrefixMatchCondition '83.118.188.234' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 5060 -DSCPAction 24 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/internett-media
    New-NetQosPolicy -Name ($run + '-q060-interaktiv-video') -IPDstPrefixMatchCondition '83.118.188.228/30' -IPProtocolMatchCondition UDP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 54999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/internett-media
    New-NetQosPolicy -Name ($run + '-q061-interaktiv-video') -IPDstPrefixMatchCondition '83.118.188.232/31' -IPProtocolMatchCondition UDP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 54999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/internett-media
    New-NetQosPolicy -Name ($run + '-q062-interaktiv-video') -IPDstPrefixMatchCondition '83.118.188.234' -IPProtocolMatchCondition UDP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 54999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): cma/signalering
    New-NetQosPolicy -Name ($run + '-q063-signalering') -IPDstPrefixMatchCondition '91.186.67.134' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 3478 -DSCPAction 24 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): cma/media
    New-NetQosPolicy -Name ($run + '-q064-interaktiv-video') -IPDstPrefixMatchCondition '91.186.67.134' -IPProtocolMatchCondition UDP -IPDstPortStartMatchCondition 50000 -IPDstPortEndMatchCondition 51000 -DSCPAction 34 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q065-signalering') -IPDstPrefixMatchCondition '91.186.92.28/30' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 1719 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q066-signalering') -IPDstPrefixMatchCondition '91.186.92.32' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 1719 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q067-signalering') -IPDstPrefixMatchCondition '91.186.92.28/30' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 5060 -DSCPAction 24 -NetworkProfile All | Out-Null
    # signalering (DSCP 24): join/helsenett-signalering
    New-NetQosPolicy -Name ($run + '-q068-signalering') -IPDstPrefixMatchCondition '91.186.92.32' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 5060 -DSCPAction 24 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/helsenett-media
    New-NetQosPolicy -Name ($run + '-q069-interaktiv-video') -IPDstPrefixMatchCondition '91.186.92.28/30' -IPProtocolMatchCondition UDP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 54999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # interaktiv-video (DSCP 34): join/helsenett-media
    New-NetQosPolicy -Name ($run + '-q070-interaktiv-video') -IPDstPrefixMatchCondition '91.186.92.32' -IPProtocolMatchCondition UDP -IPDstPortStartMatchCondition 40000 -IPDstPortEndMatchCondition 54999 -DSCPAction 34 -NetworkProfile All | Out-Null
    # nettverkskontroll (DSCP 48): ntp/ntp-nhn
    New-NetQosPolicy -Name ($run + '-q071-nettverkskontroll') -IPDstPrefixMatchCondition '203.0.113.123' -IPProtocolMatchCondition UDP -IPDstPortMatchCondition 123 -DSCPAction 48 -NetworkProfile All | Out-Null
    # forretningskritisk (DSCP 26): proxy/pac
    New-NetQosPolicy -Name ($run + '-q072-forretningskritisk') -IPDstPrefixMatchCondition '2001:db8:81::1' -IPProtocolMatchCondition TCP -IPDstPortMatchCondition 80 -DSCPAction 26 -NetworkProfile All | Out-Null

    # Last: outbound connections not allowed above are blocked, in every firewall profile.
    Set-NetFirewallProfile -Profile Domain,Private,Public -DefaultOutboundAction Block
    # The previous run's QoS policies go only once everything else is in place.
    Get-NetQosPolicy | Where-Object Name -in $oldQos | Remove-NetQosPolicy -Confirm:$false
} catch {
    & (Join-Path $dir 'rollback.ps1')
    Get-NetQosPolicy | Where-Object Name -like ($run + '-*') | Remove-NetQosPolicy -Confirm:$false
    throw
}

# DSCP outside a domain: render with -O dscp-without-domain=yes, or run these two lines:
# New-Item -Path 'HKLM:\SYSTEM\CurrentControlSet\Services\Tcpip\QoS' -Force | Out-Null
# Set-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Services\Tcpip\QoS' -Name 'Do not use NLA' -Value '1' -Type String

# System proxy for Windows services (Windows Update, Office 365): the catalogue's system proxy (002:555-556).
# Show: netsh winhttp show proxy   Undo: netsh winhttp reset proxy
netsh winhttp set proxy 'kunde.proxy.nhn.no:8080'

# Windows' own enabled outbound Allow rules: they let traffic out past this policy.
Get-NetFirewallRule -Direction Outbound -Action Allow -Enabled True | Where-Object Group -ne 'nhn-appliance' | Format-Table -Property Name, DisplayName

Write-Host 'nhn-appliance: 25 firewall rules and 72 QoS policies in place; confirm within 10 minutes (see the top of this file)'

"""The JavaScript every PAC file runs with: the Navigator helpers and Microsoft's IPv6 ones.

Names are answered from a table inside the sandbox (:mod:`pac_engine` fills it
between calls); ``shExpMatch`` matches without a regular expression, so no
pattern can backtrack catastrophically. The IPv6 helpers (``dnsResolveEx``,
``isResolvableEx``, ``myIpAddressEx``, ``isInNetEx``, ``sortIpAddressList``,
``getClientVersion``) follow Microsoft's "IPv6-aware proxy helper API
definitions" (learn.microsoft.com, winhttp) with Chrome's failure values
("" and false, net/proxy/proxy_resolver_v8.cc): IPv6 addresses sort first.
"""

PRELUDE = r"""
(function (G, myip) {
  var table = Object.create(null), seen = Object.create(null), misses = [];
  var stringify = JSON.stringify;
  function lookup(h) {  // -> "a;b;..." or null
    h = '' + h;
    if (__ip(h)) return h;
    if (h in table) return table[h] || null;
    if (!(h in seen) && misses.length < 64 && h.length < 254) {
      seen[h] = 1;
      misses[misses.length] = h;
    }
    return null;
  }
  function first(list) {  // dnsResolve gives one address: the first IPv4, else the first
    var all = list === null ? [] : list.split(';');
    for (var i = 0; i < all.length; i++) if (/^[0-9.]+$/.test(all[i])) return all[i];
    return all.length ? all[0] : null;
  }
  G.dnsResolve = function (h) { return first(lookup(h)); };
  G.isResolvable = function (h) { return lookup(h) !== null; };
  G.myIpAddress = function () { return myip || '127.0.0.1'; };
  // Microsoft's IPv6 extensions, as Chrome and WinHTTP offer them (failure: "" or false)
  G.dnsResolveEx = function (h) { return lookup(h) || ''; };
  G.isResolvableEx = function (h) { return lookup(h) !== null; };
  G.myIpAddressEx = function () { return myip; };
  G.__nhn_set = function (h, a) { table[h] = a; };
  G.__nhn_take = function () {
    var m = stringify(misses);
    misses = []; seen = Object.create(null);
    return m;
  };
})(globalThis, MYIP);
function alert(m) {}
function __ip(s) {  // an IPv4 or IPv6 literal -> its bytes (4 or 16), else null
  s = '' + s;
  var pct = s.indexOf('%'), last = s.lastIndexOf(':'), i, n;
  if (last < 0) {
    var b = s.split('.');
    if (b.length != 4) return null;
    for (i = 0; i < 4; i++) {
      if (!/^\d{1,3}$/.test(b[i]) || +b[i] > 255) return null;
      b[i] = +b[i];
    }
    return b;
  }
  if (pct >= 0) s = s.substring(0, pct);
  if (s.indexOf('.', last) >= 0) {  // an IPv4 tail: ::ffff:198.51.100.1
    var t = __ip(s.substring(last + 1));
    if (!t) return null;
    s = s.substring(0, last + 1) + ((t[0] << 8) | t[1]).toString(16) + ':' +
        ((t[2] << 8) | t[3]).toString(16);
  }
  var halves = s.split('::');
  if (halves.length > 2) return null;
  var a = halves[0] === '' ? [] : halves[0].split(':');
  var z = halves.length < 2 || halves[1] === '' ? [] : halves[1].split(':');
  var fill = 8 - a.length - z.length, words = a.slice();
  if (halves.length == 2 ? fill < 1 : fill != 0) return null;
  for (i = 0; i < fill; i++) words.push('0');
  words = words.concat(z);
  var out = [];
  for (i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(words[i])) return null;
    n = parseInt(words[i], 16);
    out.push(n >> 8, n & 255);
  }
  return out;
}
function isInNetEx(ip, prefix) {  // "2001:db8::1", "2001:db8::/32"
  var p = ('' + prefix).split('/'), a = __ip(ip), n = p.length == 2 ? __ip(p[0]) : null;
  if (!a || !n || a.length != n.length || !/^\d{1,3}$/.test(p[1])) return false;
  var bits = +p[1];
  if (bits > 8 * a.length) return false;
  for (var i = 0; i < a.length; i++) {
    var take = Math.min(8, Math.max(0, bits - 8 * i)), mask = (0xff << (8 - take)) & 0xff;
    if ((a[i] & mask) != (n[i] & mask)) return false;
  }
  return true;
}
function sortIpAddressList(list) {  // IPv6 first, then IPv4, each in address order
  var parts = ('' + list).split(';'), keyed = [];
  for (var i = 0; i < parts.length; i++) {
    var s = parts[i].trim(), b = __ip(s);
    if (!b) return false;
    keyed.push({s: s, k: (b.length == 16 ? '0' : '1') + b.map(function (x) {
      return (x + 256).toString(16); }).join('')});
  }
  keyed.sort(function (x, y) { return x.k < y.k ? -1 : x.k > y.k ? 1 : 0; });
  return keyed.map(function (x) { return x.s; }).join(';');
}
function getClientVersion() { return '1.0'; }
function isPlainHostName(h) { return ('' + h).indexOf('.') < 0; }
function dnsDomainIs(h, d) {
  h = '' + h; d = '' + d;
  return h.length >= d.length && h.substring(h.length - d.length) == d;
}
function localHostOrDomainIs(h, hd) { return h == hd || ('' + hd).lastIndexOf(h + '.', 0) == 0; }
function dnsDomainLevels(h) { return ('' + h).split('.').length - 1; }
function convert_addr(ip) {
  var b = ('' + ip).split('.');
  return ((b[0] & 255) << 24 | (b[1] & 255) << 16 | (b[2] & 255) << 8 | (b[3] & 255)) >>> 0;
}
function isInNet(h, pat, mask) {
  var v4 = /^\d+\.\d+\.\d+\.\d+$/, ip = v4.test(h) ? h : dnsResolve(h);
  if (ip === null || !v4.test(ip)) return false;
  var m = convert_addr(mask);
  return ((convert_addr(ip) & m) >>> 0) == ((convert_addr(pat) & m) >>> 0);
}
function shExpMatch(s, p) {  // * and ?, matched without a regular expression: at worst
  s = '' + s; p = '' + p;      // len(s) x len(p) steps, never exponential backtracking
  var i = 0, j = 0, star = -1, mark = 0;
  while (i < s.length) {
    if (j < p.length && (p[j] == '?' || p[j] == s[i])) { i++; j++; }
    else if (j < p.length && p[j] == '*') { star = j++; mark = i; }
    else if (star >= 0) { j = star + 1; i = ++mark; }
    else return false;
  }
  while (j < p.length && p[j] == '*') j++;
  return j == p.length;
}
var __WD = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
var __MON = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
function __args(a) {
  var n = a.length, g = n > 0 && a[n - 1] == 'GMT', d = new Date();
  return {v: Array.prototype.slice.call(a, 0, g ? n - 1 : n), gmt: g,
          get: function (f) { return d[(g ? 'getUTC' : 'get') + f](); }};
}
function __within(a, x, b) { return a <= b ? a <= x && x <= b : x >= a || x <= b; }
function weekdayRange() {
  var a = __args(arguments), w1 = __WD.indexOf(a.v[0]);
  var w2 = a.v.length > 1 ? __WD.indexOf(a.v[1]) : w1;
  return w1 >= 0 && w2 >= 0 && __within(w1, a.get('Day'), w2);
}
function dateRange() {
  var a = __args(arguments), v = a.v, n = v.length;
  if (n < 1 || n > 6 || (n > 1 && n % 2)) return false;
  function key(part) {  // [year, month, day], -1 where not given
    var k = [-1, -1, -1];
    for (var i = 0; i < part.length; i++) {
      var t = part[i], m = __MON.indexOf(t);
      if (m >= 0) k[1] = m + 1; else if (+t > 31) k[0] = +t; else if (+t >= 1) k[2] = +t;
      else return null;
    }
    return k;
  }
  var half = n == 1 ? 1 : n / 2, k1 = key(v.slice(0, half)), k2 = key(v.slice(n - half));
  if (!k1 || !k2) return false;
  function num(k) {  // only the fields the range gives
    return (k1[0] < 0 ? 0 : k[0]) * 10000 + (k1[1] < 0 ? 0 : k[1]) * 100 + (k1[2] < 0 ? 0 : k[2]);
  }
  return __within(num(k1), num([a.get('FullYear'), a.get('Month') + 1, a.get('Date')]), num(k2));
}
function timeRange() {
  var a = __args(arguments), v = a.v.map(Number), n = v.length, h = a.get('Hours');
  var s = h * 3600 + a.get('Minutes') * 60 + a.get('Seconds');
  if (n == 1) return h == v[0];
  if (n == 2) return __within(v[0] * 3600, s, v[1] * 3600 + 3599);
  if (n == 4) return __within(v[0] * 3600 + v[1] * 60, s, v[2] * 3600 + v[3] * 60 + 59);
  if (n == 6) return __within(v[0] * 3600 + v[1] * 60 + v[2], s, v[3] * 3600 + v[4] * 60 + v[5]);
  return false;
}
"""

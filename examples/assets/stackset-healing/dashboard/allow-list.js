// CloudFront Function (viewer request, cloudfront-js-2.0): the StackSet dashboard is for
// the organisation's own networks only. Viewers from any other address get 403.
// __ALLOWED_CIDRS__ is replaced at synthesis by the IPv4 networks of
// stackset_healing::DASHBOARD_ALLOWED_CIDRS (a JSON list).
var ALLOWED_CIDRS = __ALLOWED_CIDRS__;

function ipv4(address) {
    var parts = String(address).split('.');
    if (parts.length !== 4) {
        return null;
    }
    var n = 0;
    for (var i = 0; i < 4; i++) {
        if (!/^[0-9]{1,3}$/.test(parts[i])) {
            return null;
        }
        var octet = parseInt(parts[i], 10);
        if (octet > 255) {
            return null;
        }
        n = n * 256 + octet;
    }
    return n;
}

function inCidr(address, cidr) {
    var slash = cidr.indexOf('/');
    var base = ipv4(cidr.substring(0, slash));
    var bits = parseInt(cidr.substring(slash + 1), 10);
    var n = ipv4(address);
    if (n === null || base === null || isNaN(bits) || bits < 0 || bits > 32) {
        return false;
    }
    var size = Math.pow(2, 32 - bits);
    return Math.floor(n / size) === Math.floor(base / size);
}

function handler(event) {
    var ip = event.viewer && event.viewer.ip;
    for (var i = 0; i < ALLOWED_CIDRS.length; i++) {
        if (inCidr(ip, ALLOWED_CIDRS[i])) {
            return event.request;
        }
    }
    return {
        statusCode: 403,
        statusDescription: 'Forbidden',
        headers: { 'cache-control': { value: 'no-store' } }
    };
}

// The gate's nginx.conf with `gateAuthCacheSeconds` above 0: `/v2/` asks an internal location,
// which proxies the check to the gate's own port and remembers a 200 keyed by role and
// credentials. (tests/program.spec.ts checks the pod and the conf without the cache; the e2e
// roles suite runs both with the real nginx.)
import * as assert from "assert";

import { gateConf } from "../components/registry/gate";
import { parseConfig } from "../config";

/** The text of the `location <args> { ... }` block (one level of nesting inside). */
function location(conf: string, args: string): string {
    const start = conf.indexOf(`location ${args} {`);
    assert.ok(start >= 0, `no location ${args}`);
    const end = conf.indexOf("\n        }\n", start);
    return conf.slice(start, end);
}

describe("the gate's auth cache (gateAuthCacheSeconds)", () => {
    const conf = gateConf({ listen: "5000", realm: "registry", accessLog: true, authCacheSeconds: 60 });

    it("defaults to 60 seconds on every stack that does not set it, and 0 turns it off", () => {
        assert.strictEqual(parseConfig({}).gateAuthCacheSeconds, 60);
        assert.strictEqual(parseConfig({ gateAuthCacheSeconds: "0" }).gateAuthCacheSeconds, 0);
        assert.strictEqual(parseConfig({ gateAuthCacheSeconds: "3600" }).gateAuthCacheSeconds, 3600);
    });

    it("`/v2/` authenticates through the internal location alone; the role comes from the client's method", () => {
        const api = location(conf, "/v2/");
        assert.match(api, /auth_request \/_gate\/auth;/);
        assert.doesNotMatch(api, /auth_basic/);
        assert.match(conf, /map \$request_method \$gate_role \{\n\s+GET pull;\n\s+HEAD pull;\n\s+default push;\n\s+\}/);
        const locations = [...conf.matchAll(/location ([^{]+) \{/g)].map((m) => m[1]);
        assert.deepStrictEqual(locations, ["/v2/", "= /", "= /_gate/auth", "= /_gate/check/pull", "= /_gate/check/push", "/"]);
    });

    it("the internal location: the check on the gate's own port, no body, a 200 remembered for the configured seconds keyed by role and credentials", () => {
        const auth = location(conf, "= /_gate/auth");
        assert.match(auth, /internal;/);
        assert.match(auth, /proxy_pass https:\/\/127\.0\.0\.1:\$server_port\/_gate\/check\/\$gate_role;/);
        assert.match(auth, /client_max_body_size 0;\n\s+proxy_pass_request_body off;\n\s+proxy_set_header Content-Length "";/);
        assert.match(
            auth,
            /proxy_cache gate_auth;\n\s+proxy_cache_key \$gate_role:\$http_authorization;\n\s+proxy_cache_valid 200 60s;\n\s+proxy_cache_lock on;/,
        );
        // Only 200 is remembered: no `proxy_cache_valid any` or for 401.
        assert.strictEqual((conf.match(/proxy_cache_valid/g) ?? []).length, 1);
        assert.match(conf, /proxy_cache_path \/var\/cache\/registry-gate levels=1 keys_zone=gate_auth:1m max_size=8m inactive=60s use_temp_path=off;/);
        const longer = gateConf({ listen: "5000", realm: "registry", accessLog: true, authCacheSeconds: 900 });
        assert.match(longer, /inactive=900s /);
        assert.match(longer, /proxy_cache_valid 200 900s;/);
    });

    it("each role's check: the pod's loopback only, its own htpasswd file, a 200 from nginx itself, never the registry", () => {
        for (const role of ["pull", "push"]) {
            const check = location(conf, `= /_gate/check/${role}`);
            assert.match(check, /allow 127\.0\.0\.1;\n\s+deny all;/);
            assert.match(check, new RegExp(`auth_basic "registry";\\n\\s+auth_basic_user_file /etc/registry/auth/${role}\\.htpasswd;\\n\\s+empty_gif;`));
            assert.doesNotMatch(check, /proxy_pass|return/);
        }
        // The htpasswd files are read only in the checks.
        assert.strictEqual((conf.match(/auth_basic_user_file/g) ?? []).length, 2);
    });

    it("without the cache, the same conf less the internal locations and the cache: `/v2/` checks the method's file itself", () => {
        const direct = gateConf({ listen: "5000", realm: "registry", accessLog: true, authCacheSeconds: 0 });
        assert.doesNotMatch(direct, /auth_request|proxy_cache|_gate\//);
        assert.match(location(direct, "/v2/"), /auth_basic "registry";\n\s+auth_basic_user_file \$gate_users;/);
    });
});

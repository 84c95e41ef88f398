import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  contentDigest,
  importPrivateKey,
  importPublicKey,
  signBase,
  signRequest,
  signatureBase,
  verifyBase,
  verifyContentDigest,
  verifyRequest,
  type SignatureParams,
} from "./signatures.server";

// RFC 9421 Appendix B.1.4, "test-key-ed25519", as PEM and as JWK.
const RFC_PRIVATE_PEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----`;
const RFC_PUBLIC_PEM = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----`;
const RFC_JWK = {
  kty: "OKP",
  crv: "Ed25519",
  kid: "test-key-ed25519",
  d: "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU",
  x: "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs",
};

// RFC 9421 Appendix B.2, "test-request".
const RFC_REQUEST = {
  method: "POST",
  url: "https://example.com/foo?param=Value&Pet=dog",
  headers: {
    Host: "example.com",
    Date: "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    "Content-Length": "18",
  },
  body: '{"hello": "world"}',
};

// RFC 9421 Appendix B.2.6, "Signing a Request Using ed25519".
const RFC_B26_COMPONENTS = ["date", "@method", "@path", "@authority", "content-type", "content-length"];
const RFC_B26_PARAMS = { created: 1618884473, keyid: "test-key-ed25519" };
const RFC_B26_BASE = [
  '"date": Tue, 20 Apr 2021 02:07:55 GMT',
  '"@method": POST',
  '"@path": /foo',
  '"@authority": example.com',
  '"content-type": application/json',
  '"content-length": 18',
  '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
].join("\n");
const RFC_B26_SIGNATURE_INPUT =
  'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"';
const RFC_B26_SIGNATURE = "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==";

describe("Content-Digest (RFC 9530)", () => {
  it("digests content with sha-256 as the RFC's examples do", () => {
    // Appendix B.1: the JSON object followed by an LF; B.2: empty content.
    expect(contentDigest('{"hello": "world"}\n')).toBe("sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:");
    expect(contentDigest(new Uint8Array())).toBe("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
    // Without the LF: the 18-byte content of RFC 9421's test-request.
    expect(contentDigest('{"hello": "world"}')).toBe("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
    expect(contentDigest(Buffer.from('{"hello": "world"}'))).toBe("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
  });

  it("accepts the RFCs' sha-256 and sha-512 digests of the content they describe", () => {
    expect(() =>
      verifyContentDigest("sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:", '{"hello": "world"}\n')
    ).not.toThrow();
    // RFC 9530 §2: sha-512 of the same content.
    const sha512 = "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:";
    expect(() => verifyContentDigest(sha512, '{"hello": "world"}\n')).not.toThrow();
    // RFC 9421 B.2: the test-request's sha-512 digest of its 18-byte content.
    expect(() => verifyContentDigest(RFC_REQUEST.headers["Content-Digest"], RFC_REQUEST.body)).not.toThrow();
    // Both members, and an algorithm we do not know, which is ignored.
    const both = `md5=:AAAA:, sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, ${sha512}`;
    expect(() => verifyContentDigest(both, '{"hello": "world"}\n')).not.toThrow();
  });

  it("refuses a digest of other content, even when another member matches", () => {
    expect(() => verifyContentDigest(contentDigest('{"hello": "world"}'), '{"hello": "there"}')).toThrow(
      expect.objectContaining({ code: "digest_mismatch" })
    );
    const mixed = `${contentDigest(
      '{"hello": "world"}\n'
    )}, sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:`;
    expect(() => verifyContentDigest(mixed, '{"hello": "world"}\n')).toThrow(
      expect.objectContaining({ code: "digest_mismatch" })
    );
    expect(() => verifyContentDigest("sha-256=?1", "x")).toThrow(expect.objectContaining({ code: "digest_mismatch" }));
  });

  it("refuses a missing digest, an unparsable one and one with no supported algorithm", () => {
    for (const header of [
      undefined,
      "",
      "sha-256=:not base64",
      "md5=:HUXZLQLMuI/KZ5KDcJPcOA==:, sha=:AAAA:",
      "constructor=:AAAA:",
    ]) {
      expect(() => verifyContentDigest(header, "x")).toThrow(expect.objectContaining({ code: "digest_missing" }));
    }
  });
});

describe("signature base (RFC 9421)", () => {
  it("reproduces the RFC's signature base and Signature-Input for B.2.6", () => {
    const { base, signatureParams } = signatureBase({ ...RFC_REQUEST, components: RFC_B26_COMPONENTS, params: RFC_B26_PARAMS });
    expect(base).toBe(RFC_B26_BASE);
    expect(`sig-b26=${signatureParams}`).toBe(RFC_B26_SIGNATURE_INPUT);
  });

  it("verifies the RFC's published Ed25519 signature with the RFC's public key, as PEM and as JWK", () => {
    const signature = Buffer.from(RFC_B26_SIGNATURE, "base64");
    expect(verifyBase(RFC_B26_BASE, signature, importPublicKey(RFC_PUBLIC_PEM))).toBe(true);
    const { d: _private, ...publicJwk } = RFC_JWK;
    expect(verifyBase(RFC_B26_BASE, signature, importPublicKey(publicJwk))).toBe(true);
    expect(verifyBase(RFC_B26_BASE.replace("/foo", "/bar"), signature, importPublicKey(RFC_PUBLIC_PEM))).toBe(false);
  });

  it("signs the RFC's base with the RFC's private key into the RFC's exact signature (Ed25519 is deterministic)", () => {
    expect(signBase(RFC_B26_BASE, importPrivateKey(RFC_PRIVATE_PEM)).toString("base64")).toBe(RFC_B26_SIGNATURE);
    expect(signBase(RFC_B26_BASE, importPrivateKey(RFC_JWK)).toString("base64")).toBe(RFC_B26_SIGNATURE);
    // The private key's public half is the RFC's public key.
    expect(importPublicKey(importPrivateKey(RFC_PRIVATE_PEM)).export({ format: "jwk" })).toMatchObject({ x: RFC_JWK.x });
  });

  it("derives the request components from the target URI", () => {
    const components = ["@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"];
    const { base } = signatureBase({ method: "POST", url: "https://www.example.com/path?param=value", components, params: {} });
    expect(base).toBe(
      [
        '"@method": POST',
        '"@target-uri": https://www.example.com/path?param=value',
        '"@authority": www.example.com',
        '"@scheme": https',
        '"@request-target": /path?param=value',
        '"@path": /path',
        '"@query": ?param=value',
        '"@signature-params": ("@method" "@target-uri" "@authority" "@scheme" "@request-target" "@path" "@query")',
      ].join("\n")
    );
  });

  it("gives an absent query as a lone question mark, and normalises authority and path", () => {
    const components = ["@query", "@authority", "@path", "@target-uri"];
    const { base } = signatureBase({ method: "GET", url: "HTTPS://Peer.Example:443#frag", components, params: {} });
    expect(base.split("\n").slice(0, 4)).toEqual([
      '"@query": ?',
      '"@authority": peer.example',
      '"@path": /',
      '"@target-uri": https://peer.example/',
    ]);
    const withPort = signatureBase({
      method: "GET",
      url: "http://peer.example:8080/a?",
      components: ["@authority", "@query"],
      params: {},
    });
    expect(withPort.base.split("\n").slice(0, 2)).toEqual(['"@authority": peer.example:8080', '"@query": ?']);
  });

  it("looks header fields up by lower-cased name, trims them and combines several values", () => {
    const params = {};
    const components = ["x-list", "x-padded", "x-folded"];
    const record = { "X-List": ["a", " b "], "x-padded": "  spaced value \t", "X-Folded": "one\r\n  two" };
    expect(signatureBase({ method: "GET", url: "https://a.example/", headers: record, components, params }).base).toBe(
      [
        '"x-list": a, b',
        '"x-padded": spaced value',
        '"x-folded": one two',
        '"@signature-params": ("x-list" "x-padded" "x-folded")',
      ].join("\n")
    );
    const headers = new Headers([
      ["X-List", "a"],
      ["X-List", "b"],
      ["X-Padded", "spaced value"],
      ["X-Folded", "one two"],
    ]);
    expect(
      signatureBase({ method: "GET", url: "https://a.example/", headers, components, params }).base.split("\n").slice(0, 3)
    ).toEqual(['"x-list": a, b', '"x-padded": spaced value', '"x-folded": one two']);
  });

  it("serialises the signature parameters in the order given", () => {
    const params: SignatureParams = {
      created: 1618884473,
      expires: 1618884773,
      nonce: "b3k2pp5k",
      alg: "ed25519",
      keyid: "peer-key",
      tag: "civitas",
    };
    const { signatureParams } = signatureBase({ method: "GET", url: "https://a.example/", components: ["@method"], params });
    expect(signatureParams).toBe(
      '("@method");created=1618884473;expires=1618884773;nonce="b3k2pp5k";alg="ed25519";keyid="peer-key";tag="civitas"'
    );
    const reordered = signatureBase({
      method: "GET",
      url: "https://a.example/",
      components: [],
      params: { keyid: "k", created: 1 },
    });
    expect(reordered.signatureParams).toBe('();keyid="k";created=1');
  });

  it("refuses components it cannot place in a base", () => {
    const build =
      (components: string[], headers = {}) =>
      () =>
        signatureBase({ method: "GET", url: "https://a.example/", headers, components, params: {} });
    expect(build(["date"])).toThrow(expect.objectContaining({ code: "bad_signature" }));
    expect(build(["@method", "@method"])).toThrow(expect.objectContaining({ code: "malformed_signature" }));
    expect(build(["@status"])).toThrow(expect.objectContaining({ code: "malformed_signature" }));
    expect(build(["Date"], { date: "x" })).toThrow(expect.objectContaining({ code: "malformed_signature" }));
    expect(build(["x-bytes"], { "x-bytes": "caf\u00e9" })).toThrow(expect.objectContaining({ code: "bad_signature" }));
  });
});

describe("signing and verifying requests between instances", () => {
  const NOW = 1_750_000_000;
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const other = generateKeyPairSync("ed25519");
  const KEY_ID = "https://lyon.civitas.example/.well-known/civitas#key-1";
  const INBOX = "https://paris.civitas.example/federation/inbox";
  const BODY = JSON.stringify({ type: "Create", id: "urn:uuid:5d1c6f0e-2d7b-4c39-9b61-1e0f6f3c2a11" });
  const resolveKey = async (keyId: string) => (keyId === KEY_ID ? publicKey : null);

  function signed(overrides: Partial<Parameters<typeof signRequest>[0]> = {}) {
    return signRequest({ method: "POST", url: INBOX, body: BODY, keyId: KEY_ID, privateKey, created: NOW, ...overrides });
  }

  function verifying(request: {
    headers: Record<string, string | undefined> | Headers;
    method?: string;
    url?: string;
    body?: string;
  }) {
    return verifyRequest({ method: "POST", url: INBOX, body: BODY, resolveKey, now: NOW, ...request });
  }

  /** A signature shaped by hand, to reach the refusals signRequest never produces. */
  function crafted(components: string[], params: SignatureParams, signedHeaders: Record<string, string> = {}) {
    const headers = { "content-digest": contentDigest(BODY), ...signedHeaders };
    const { base, signatureParams } = signatureBase({ method: "POST", url: INBOX, headers, components, params });
    const signature = signBase(base, privateKey).toString("base64");
    return {
      "content-digest": headers["content-digest"],
      "signature-input": `civitas=${signatureParams}`,
      signature: `civitas=:${signature}:`,
    };
  }

  it("round-trips a signed POST with a freshly generated key", async () => {
    const headers = signed({ nonce: "n-1" });
    expect(headers["content-digest"]).toBe(contentDigest(BODY));
    expect(headers["signature-input"]).toBe(
      `civitas=("@method" "@target-uri" "content-digest");created=${NOW};keyid="${KEY_ID}";alg="ed25519";nonce="n-1"`
    );
    expect(headers.signature).toMatch(/^civitas=:[A-Za-z0-9+/]{86}==:$/);
    await expect(verifying({ headers })).resolves.toEqual({ keyId: KEY_ID, created: NOW, nonce: "n-1" });
  });

  it("round-trips a GET without a body, covering method and target URI only", async () => {
    const headers = signed({ method: "get", body: undefined });
    expect(headers["content-digest"]).toBeUndefined();
    expect(headers["signature-input"]).toBe(`civitas=("@method" "@target-uri");created=${NOW};keyid="${KEY_ID}";alg="ed25519"`);
    await expect(verifying({ headers, method: "GET", body: undefined })).resolves.toEqual({ keyId: KEY_ID, created: NOW });
  });

  it("signs the query string as part of the target URI", async () => {
    const url = "https://paris.civitas.example/federation/datasets/beds?cursor=42&since=2025-01-01";
    const headers = signed({ method: "GET", url, body: undefined });
    await expect(verifying({ headers, method: "GET", url, body: undefined })).resolves.toMatchObject({ keyId: KEY_ID });
    await expect(
      verifying({ headers, method: "GET", url: url.replace("cursor=42", "cursor=0"), body: undefined })
    ).rejects.toMatchObject({
      code: "bad_signature",
    });
    await expect(verifying({ headers, method: "GET", url: url.split("?")[0], body: undefined })).rejects.toMatchObject({
      code: "bad_signature",
    });
  });

  it("accepts the headers as a Headers object, with other headers around", async () => {
    const headers = new Headers({ ...signed(), "Content-Type": "application/activity+json", Host: "paris.civitas.example" });
    await expect(verifying({ headers })).resolves.toMatchObject({ keyId: KEY_ID, created: NOW });
  });

  it("refuses a tampered body, a changed method and a changed URL", async () => {
    const headers = signed();
    await expect(verifying({ headers, body: BODY.replace("Create", "Delete") })).rejects.toMatchObject({
      code: "digest_mismatch",
    });
    // Rewriting the digest to fit the new body breaks the signature instead.
    const rewritten = { ...headers, "content-digest": contentDigest(BODY.replace("Create", "Delete")) };
    await expect(verifying({ headers: rewritten, body: BODY.replace("Create", "Delete") })).rejects.toMatchObject({
      code: "bad_signature",
    });
    await expect(verifying({ headers, method: "PUT" })).rejects.toMatchObject({ code: "bad_signature" });
    await expect(verifying({ headers, url: INBOX.replace("paris", "lyon") })).rejects.toMatchObject({ code: "bad_signature" });
    await expect(verifying({ headers, url: `${INBOX}/other` })).rejects.toMatchObject({ code: "bad_signature" });
  });

  it("prefers the civitas signature, else takes the only one", async () => {
    const ours = signed();
    const theirs = signed({ label: "sig1", privateKey: other.privateKey, created: NOW - 1 });
    const both = {
      "content-digest": ours["content-digest"],
      "signature-input": `${theirs["signature-input"]}, ${ours["signature-input"]}`,
      signature: `${theirs.signature}, ${ours.signature}`,
    };
    await expect(verifying({ headers: both })).resolves.toMatchObject({ created: NOW });
    const onlySig1 = signed({ label: "sig1" });
    expect(onlySig1["signature-input"].startsWith("sig1=")).toBe(true);
    await expect(verifying({ headers: onlySig1 })).resolves.toMatchObject({ keyId: KEY_ID });
    const twoOthers = {
      ...both,
      "signature-input": `${theirs["signature-input"]}, ${ours["signature-input"].replace("civitas=", "sig2=")}`,
      signature: `${theirs.signature}, ${ours.signature.replace("civitas=", "sig2=")}`,
    };
    await expect(verifying({ headers: twoOthers })).rejects.toMatchObject({ code: "malformed_signature" });
  });

  describe("refusals, each with its own code and an English reason", () => {
    it("missing_signature: no Signature or Signature-Input", async () => {
      const { signature: _signature, ...withoutSignature } = signed();
      await expect(verifying({ headers: {} })).rejects.toMatchObject({ name: "SignatureError", code: "missing_signature" });
      await expect(verifying({ headers: withoutSignature })).rejects.toMatchObject({
        code: "missing_signature",
        message: expect.stringMatching(/no Signature/),
      });
    });

    it("malformed_signature: unparsable fields, a non-list input, a signature that is not bytes, mismatched labels", async () => {
      const headers = signed();
      for (const broken of [
        { "signature-input": 'civitas=("@method"' },
        { "signature-input": 'civitas="@method"' },
        { signature: 'civitas="not bytes"' },
        { signature: headers.signature.replace("civitas=", "other=") },
        { "signature-input": headers["signature-input"].replace(`created=${NOW}`, 'created="yesterday"') },
        { "signature-input": headers["signature-input"].replace('("@method"', '("@method";req') },
      ]) {
        await expect(verifying({ headers: { ...headers, ...broken } })).rejects.toMatchObject({ code: "malformed_signature" });
      }
    });

    it("components_missing: method, target URI, digest of a body, or created left uncovered", async () => {
      const cases: [string[], SignatureParams, RegExp][] = [
        [["@target-uri", "content-digest"], { created: NOW, keyid: KEY_ID }, /"@method"/],
        [["@method", "@path", "content-digest"], { created: NOW, keyid: KEY_ID }, /"@target-uri"/],
        [["@method", "@target-uri"], { created: NOW, keyid: KEY_ID }, /"content-digest"/],
        [["@method", "@target-uri", "content-digest"], { keyid: KEY_ID }, /"created"/],
      ];
      for (const [components, params, reason] of cases) {
        await expect(verifying({ headers: crafted(components, params) })).rejects.toMatchObject({
          code: "components_missing",
          message: expect.stringMatching(reason),
        });
      }
    });

    it("unsupported_algorithm: an alg other than ed25519, or a key that is not Ed25519", async () => {
      const headers = crafted(["@method", "@target-uri", "content-digest"], {
        created: NOW,
        keyid: KEY_ID,
        alg: "rsa-pss-sha512",
      });
      await expect(verifying({ headers })).rejects.toMatchObject({
        code: "unsupported_algorithm",
        message: expect.stringMatching(/rsa-pss-sha512/),
      });
      const ecKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
      await expect(
        verifyRequest({ method: "POST", url: INBOX, body: BODY, headers: signed(), now: NOW, resolveKey: async () => ecKey })
      ).rejects.toMatchObject({
        code: "unsupported_algorithm",
      });
    });

    it("stale: created longer ago than the allowed age, or expired", async () => {
      await expect(verifying({ headers: signed({ created: NOW - 301 }) })).rejects.toMatchObject({ code: "stale" });
      await expect(verifying({ headers: signed({ created: NOW - 300 }) })).resolves.toMatchObject({ created: NOW - 300 });
      const old = signed({ created: NOW - 3600 });
      await expect(
        verifyRequest({ method: "POST", url: INBOX, body: BODY, headers: old, resolveKey, now: NOW, maxAgeSeconds: 7200 })
      ).resolves.toMatchObject({
        created: NOW - 3600,
      });
      const expired = crafted(["@method", "@target-uri", "content-digest"], {
        created: NOW - 60,
        expires: NOW - 1,
        keyid: KEY_ID,
      });
      await expect(verifying({ headers: expired })).rejects.toMatchObject({
        code: "stale",
        message: expect.stringMatching(/expired/),
      });
      const current = crafted(["@method", "@target-uri", "content-digest"], {
        created: NOW - 60,
        expires: NOW + 60,
        keyid: KEY_ID,
      });
      await expect(verifying({ headers: current })).resolves.toMatchObject({ created: NOW - 60 });
    });

    it("future: created further ahead than the allowed clock skew", async () => {
      await expect(verifying({ headers: signed({ created: NOW + 31 }) })).rejects.toMatchObject({ code: "future" });
      await expect(verifying({ headers: signed({ created: NOW + 30 }) })).resolves.toMatchObject({ created: NOW + 30 });
    });

    it("digest_missing: the body's digest is covered but not sent", async () => {
      const { "content-digest": _digest, ...headers } = signed();
      await expect(verifying({ headers })).rejects.toMatchObject({ code: "digest_missing" });
    });

    it("digest_mismatch: the body is not the one digested", async () => {
      await expect(verifying({ headers: signed(), body: `${BODY} ` })).rejects.toMatchObject({ code: "digest_mismatch" });
    });

    it("unknown_key: the keyid resolves to nothing", async () => {
      await expect(verifying({ headers: signed({ keyId: "https://unknown.example/#key" }) })).rejects.toMatchObject({
        code: "unknown_key",
        message: expect.stringMatching(/unknown\.example/),
      });
    });

    it("bad_signature: signed by another key, or a signature of the wrong length", async () => {
      await expect(verifying({ headers: signed({ privateKey: other.privateKey }) })).rejects.toMatchObject({
        code: "bad_signature",
      });
      const headers = signed();
      await expect(verifying({ headers: { ...headers, signature: "civitas=:AAAA:" } })).rejects.toMatchObject({
        code: "bad_signature",
      });
      // The signature covers a header the request arrived without.
      const covering = crafted(
        ["@method", "@target-uri", "content-digest", "x-city"],
        { created: NOW, keyid: KEY_ID },
        { "x-city": "lyon" }
      );
      await expect(verifying({ headers: { ...covering, "x-city": "lyon" } })).resolves.toMatchObject({ keyId: KEY_ID });
      await expect(verifying({ headers: covering })).rejects.toMatchObject({
        code: "bad_signature",
        message: expect.stringMatching(/x-city/),
      });
    });
  });
});

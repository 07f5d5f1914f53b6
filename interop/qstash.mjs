// qstash.mjs checks qstashguard against the official QStash SDK. It reads
// one JSON request on stdin and writes one JSON result on stdout.
//
// Bodies travel as standard base64 in "bodyBase64", so that non-ASCII text
// and arbitrary bytes cross the process boundary unchanged.
//
//   {"op":"verify","signature":"...","bodyBase64":"...","url":"...",
//    "currentSigningKey":"sig_...","nextSigningKey":"sig_...","clockTolerance":0}
//     -> {"valid":true} or {"valid":false,"error":"..."}
//   Verifies with the SDK's Receiver. "url" may be left out: the Receiver
//   then skips the subject check. The Receiver takes the body as a string
//   and hashes its UTF-8 encoding, so a body that is not valid UTF-8 cannot
//   be checked by it and is a request error here. The Receiver checks exp
//   and nbf against the real clock and takes no date; a token issued in the
//   past can only be checked by a clockTolerance (seconds) reaching back to
//   its issue time.
//
//   {"op":"sign","key":"sig_...","bodyBase64":"...","url":"...","ttlSeconds":300}
//     -> {"signature":"..."}
//   Mints a token the way QStash does: header {"alg":"HS256","typ":"JWT"},
//   claims in QStash's order with an empty aud, iat = nbf = now,
//   exp = now + ttlSeconds (300 when left out), jti "jwt_" and 28 random
//   characters, and body = base64url(SHA-256(body bytes)) with its '='
//   padding, as real tokens carry it. The HMAC key is the signing key's own
//   UTF-8 bytes.
//
// A request that cannot be carried out (bad JSON, unknown op, missing key)
// is reported on stderr with exit status 2; a refused signature is not an
// error but a {"valid":false} result.

import { createHash, randomInt } from "node:crypto";
import { Receiver } from "@upstash/qstash";
import { SignJWT } from "jose";

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

class RequestError extends Error {}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function requireString(req, field) {
  const value = req[field];
  if (typeof value !== "string" || value === "") {
    throw new RequestError(`field ${field} must be a non-empty string`);
  }
  return value;
}

function bodyBytes(req) {
  const value = req.bodyBase64 ?? "";
  if (typeof value !== "string") {
    throw new RequestError("field bodyBase64 must be a string");
  }
  return Buffer.from(value, "base64");
}

// verify runs the SDK's own check. Both keys are required because a Receiver
// given fewer than two falls back to QSTASH_* environment variables, and
// devMode is pinned off because QSTASH_DEV would otherwise swap in the dev
// server's keys: either would make the result depend on the environment.
async function verify(req) {
  const currentSigningKey = requireString(req, "currentSigningKey");
  const nextSigningKey = requireString(req, "nextSigningKey");
  const signature = typeof req.signature === "string" ? req.signature : "";
  let body;
  try {
    body = new TextDecoder("utf-8", { fatal: true }).decode(bodyBytes(req));
  } catch {
    throw new RequestError("body is not valid UTF-8; the SDK's Receiver takes a string");
  }
  const url = req.url ?? undefined;
  if (url !== undefined && typeof url !== "string") {
    throw new RequestError("field url must be a string when present");
  }
  const clockTolerance = req.clockTolerance ?? 0;
  if (typeof clockTolerance !== "number") {
    throw new RequestError("field clockTolerance must be a number of seconds");
  }

  const receiver = new Receiver({ currentSigningKey, nextSigningKey, devMode: false });
  try {
    await receiver.verify({ signature, body, url, clockTolerance });
    return { valid: true };
  } catch (err) {
    return { valid: false, error: String(err?.message ?? err) };
  }
}

function messageID() {
  let id = "jwt_";
  for (let i = 0; i < 28; i++) {
    id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  }
  return id;
}

async function sign(req) {
  const key = requireString(req, "key");
  const url = typeof req.url === "string" ? req.url : "";
  const ttl = req.ttlSeconds ?? 300;
  if (!Number.isInteger(ttl)) {
    throw new RequestError("field ttlSeconds must be an integer");
  }

  // Node's base64url drops the padding; QStash keeps it, so it is put back.
  const body = createHash("sha256").update(bodyBytes(req)).digest("base64url") + "=";
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: "",
    body,
    exp: now + ttl,
    iat: now,
    iss: "Upstash",
    jti: messageID(),
    nbf: now,
    sub: url,
  };
  const signature = await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(key));
  return { signature };
}

async function main() {
  let req;
  try {
    req = JSON.parse(await readStdin());
  } catch (err) {
    throw new RequestError(`stdin is not one JSON object: ${err.message}`);
  }
  if (req === null || typeof req !== "object") {
    throw new RequestError("stdin is not one JSON object");
  }
  switch (req.op) {
    case "verify":
      return verify(req);
    case "sign":
      return sign(req);
    default:
      throw new RequestError(`unknown op ${JSON.stringify(req.op)}; want "verify" or "sign"`);
  }
}

try {
  process.stdout.write(JSON.stringify(await main()) + "\n");
} catch (err) {
  process.stderr.write(`qstash.mjs: ${err instanceof RequestError ? err.message : err.stack}\n`);
  process.exitCode = 2;
}

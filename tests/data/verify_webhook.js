// docs/webhooks.md's JavaScript check (Node 18+), run by tests/test_webhook_docs.py on a request the service signed.
const crypto = require("node:crypto");

function verifyModerationSignature(secret, header, rawBody, toleranceSeconds = 300) {
  const parts = Object.fromEntries(header.split(",").map((part) => part.split("=", 2)));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || !parts.v1) return false;
  if (Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = crypto
    .createHmac("sha256", secret)
    .update(`${timestamp}.`)
    .update(rawBody)
    .digest("hex");
  const given = Buffer.from(parts.v1, "utf8");
  return given.length === expected.length && crypto.timingSafeEqual(given, Buffer.from(expected, "utf8"));
}

// Called as: node verify_webhook.js SECRET HEADER BODY_FILE
if (require.main === module) {
  const [secret, header, bodyFile] = process.argv.slice(2);
  const body = require("node:fs").readFileSync(bodyFile);
  process.stdout.write(verifyModerationSignature(secret, header, body) ? "valid\n" : "invalid\n");
}

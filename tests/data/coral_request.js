// Builds a request exactly as Coral Talk's external moderation phase does (coral-server/services/comments/pipeline/
// phases/external.ts and models/settings/signingSecret-helpers.ts): the body serialised with
// JSON.stringify(request, null, 2), and X-Coral-Signature = each active secret's "sha256=" + hex HMAC-SHA256 of that
// string, joined by commas. Reads {"request": {...}, "secrets": [...]} on stdin; writes {"body", "signature"}.
const crypto = require("crypto");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { request, secrets } = JSON.parse(input);
  const body = JSON.stringify(request, null, 2);
  const signature = secrets
    .map((secret) => crypto.createHmac("sha256", secret).update(body).digest().toString("hex"))
    .map((hex) => `sha256=${hex}`)
    .join(",");
  process.stdout.write(JSON.stringify({ body, signature }));
});

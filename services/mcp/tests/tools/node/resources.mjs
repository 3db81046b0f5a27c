// The official TypeScript SDK (@modelcontextprotocol/sdk) as a host uses a wiki's resources: it lists them to the
// last cursor, lists the templates, reads a page and an attachment, completes a page path and reads a missing page.
// Run by tests/tools/test_resources.py: node resources.mjs <sdk dir> <mcp url> <token>; prints one JSON object.
// The SDK and undici are loaded from the install of scripts/install-ts-sdk.sh; *.localhost resolves to 127.0.0.1.
import { createRequire } from "node:module";
import { join } from "node:path";

const [sdkDir, mcpUrl, token] = process.argv.slice(2);
const require = createRequire(join(sdkDir, "package.json"));
const { Agent, fetch: undiciFetch } = require("undici");
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StreamableHTTPClientTransport } = require("@modelcontextprotocol/sdk/client/streamableHttp.js");

const dispatcher = new Agent({
  connect: { lookup: (_host, _opts, cb) => cb(null, [{ address: "127.0.0.1", family: 4 }]) },
});
const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
  fetch: (url, init = {}) => undiciFetch(url, { ...init, dispatcher }),
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "ts-sdk-resources", version: "1.0.0" });
await client.connect(transport);

const uris = [];
let answers = 0;
let cursor;
do {
  const listed = await client.listResources(cursor ? { cursor } : {});
  answers += 1;
  uris.push(...listed.resources.map((r) => r.uri));
  cursor = listed.nextCursor;
} while (cursor);
const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
const page = (await client.readResource({ uri: "wiki://page/Team/Setup%20Guide" })).contents[0];
const png = (await client.readResource({ uri: "wiki://attachment/Team/Setup%20Guide/diagram.png" })).contents[0];
const { completion } = await client.complete({
  ref: { type: "ref/resource", uri: "wiki://page/{path*}" },
  argument: { name: "path", value: "topic 1" },
});
let missing;
try {
  await client.readResource({ uri: "wiki://page/No%20Such%20Page" });
} catch (err) {
  missing = { code: err.code, message: err.message };
}
await client.close();
await dispatcher.close();
console.log(JSON.stringify({ answers, uris, templates, page, png, completion, missing }));

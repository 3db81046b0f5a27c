// The official TypeScript SDK (@modelcontextprotocol/sdk) calls every tool once, in the order of a plan, and
// returns what each answered. The SDK checks each result's structuredContent against the tool's outputSchema
// (Ajv) and throws if it does not validate or is missing: a run that prints is a run where every result fit.
// Run by tests/tools/test_results.py: node every_tool.mjs <sdk dir> <mcp url> <token> <plan JSON>.
import { createRequire } from "node:module";
import { join } from "node:path";

const [sdkDir, mcpUrl, token, planJson] = process.argv.slice(2);
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
const client = new Client({ name: "ts-sdk-every-tool", version: "1.0.0" });
await client.connect(transport);

const { tools } = await client.listTools(); // caches the output-schema validators callTool uses
const results = [];
// "$commit": the first write's commit; "$revision": the newest top-level revision a result gave
const fill = (args) =>
  Object.fromEntries(
    Object.entries(args).map(([k, v]) => {
      if (v === "$commit") return [k, results[0]?.structured?.commit];
      if (v === "$revision") return [k, [...results].reverse().find((r) => r.structured?.revision)?.structured.revision];
      return [k, v];
    }),
  );
for (const [name, args] of JSON.parse(planJson)) {
  const result = await client.callTool({ name, arguments: fill(args) });
  results.push({ name, isError: result.isError ?? false, structured: result.structuredContent ?? null });
}
await client.close();
await dispatcher.close();
const withSchema = tools.filter((t) => t.outputSchema).map((t) => t.name);
console.log(JSON.stringify({ withSchema, results }));

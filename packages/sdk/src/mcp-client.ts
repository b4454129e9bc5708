/**
 * `@neko/plugin-sdk/mcp-client`: the official MCP client SDK (`@modelcontextprotocol/client`), re-exported so an
 * adapter anywhere on disk can use it without an install of its own, as `z` is for `params` (docs/mcp-client.md).
 */
export * from "@modelcontextprotocol/client";
export * from "@modelcontextprotocol/client/stdio";

/**
 * The viewer at `GET /docs`: fetches `openapi.json` beside the page and shows every operation grouped by tag, with
 * its parameters, body and responses, and the shared schemas. Plain browser JavaScript inlined into the page: no
 * dependencies and nothing fetched but the document. `groupByTag` and `schemaLines` are pure, for the tests.
 */

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** The operations of `doc` grouped by their first tag, in the order of `doc.tags`; untagged ones last. */
export function groupByTag(doc) {
  const groups = new Map((doc.tags ?? []).map((tag) => [tag.name, { tag, operations: [] }]));
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const name = operation.tags?.[0] ?? "other";
      if (!groups.has(name)) groups.set(name, { tag: { name }, operations: [] });
      groups.get(name).operations.push({ method, path, operation });
    }
  }
  return [...groups.values()].filter((group) => group.operations.length > 0);
}

/** A schema as lines of type notation (`{`, `  plugin_id: string  // …`, `}`); references by their name. */
export function schemaLines(schema, indent = "") {
  if (!schema || Object.keys(schema).length === 0) return ["any"];
  if (schema.$ref) return [schema.$ref.split("/").pop()];
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    return joinInline(
      union.map((s) => schemaLines(s, indent)),
      " | ",
    );
  }
  if (schema.allOf) {
    return joinInline(
      schema.allOf.map((s) => schemaLines(s, indent)),
      " & ",
    );
  }
  if (schema.enum) return [schema.enum.map((v) => JSON.stringify(v)).join(" | ")];
  // OpenAPI 3.1 writes a nullable value as `type: ["string", "null"]`.
  const types = [schema.type ?? "any"].flat();
  const orNull = types.includes("null") && types.length > 1 ? " | null" : "";
  const main = types.filter((t) => t !== "null" || types.length === 1);
  if (main.length === 1 && main[0] === "array") return suffix(schemaLines(schema.items, indent), `[]${orNull}`);
  if (main.length === 1 && main[0] === "object" && schema.properties) {
    return suffix(objectLines(schema, indent), orNull);
  }
  if (main.length === 1 && main[0] === "object" && typeof schema.additionalProperties === "object") {
    const value = schemaLines(schema.additionalProperties, indent);
    return suffix([`{ [key: string]: ${value[0]}`, ...value.slice(1)], ` }${orNull}`);
  }
  return [main.join(" | ") + (schema.format ? ` (${schema.format})` : "") + orNull];
}

function objectLines(schema, indent) {
  const required = new Set(schema.required ?? []);
  const inner = `${indent}  `;
  const lines = ["{"];
  for (const [name, property] of Object.entries(schema.properties)) {
    const value = schemaLines(property, inner);
    const note = property.description ? `  // ${property.description}` : "";
    lines.push(`${inner}${name}${required.has(name) ? "" : "?"}: ${value[0]}`, ...value.slice(1));
    lines[lines.length - 1] += note;
  }
  lines.push(`${indent}}`);
  return lines;
}

function suffix(lines, text) {
  return [...lines.slice(0, -1), lines[lines.length - 1] + text];
}

function joinInline(parts, separator) {
  return parts.reduce((all, part) => [
    ...all.slice(0, -1),
    all[all.length - 1] + separator + part[0],
    ...part.slice(1),
  ]);
}

/** `tag("code", {}, "x")`: an element with text children only, so nothing from the document is parsed as HTML. */
function tag(name, attributes = {}, ...children) {
  const element = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  for (const child of children) element.append(child);
  return element;
}

function schemaBlock(schema) {
  return tag("pre", {}, schemaLines(schema).join("\n"));
}

function parametersTable(parameters) {
  const rows = parameters.map((p) =>
    tag(
      "tr",
      {},
      tag("td", {}, tag("code", {}, p.name)),
      tag("td", {}, p.in),
      tag("td", {}, p.required ? "required" : ""),
      tag("td", {}, tag("code", {}, schemaLines(p.schema).join(" "))),
      tag("td", {}, p.description ?? ""),
    ),
  );
  const head = tag("tr", {}, ...["name", "in", "", "type", ""].map((h) => tag("th", {}, h)));
  return tag("table", {}, head, ...rows);
}

function contentBlocks(content) {
  return Object.entries(content ?? {}).flatMap(([type, media]) => [
    tag("div", { class: "media" }, type),
    schemaBlock(media.schema),
  ]);
}

function operationElement({ method, path, operation }) {
  const body = [];
  if (operation.description) body.push(tag("p", { class: "text" }, operation.description));
  if (operation.parameters?.length) body.push(tag("h4", {}, "Parameters"), parametersTable(operation.parameters));
  if (operation.requestBody) {
    body.push(tag("h4", {}, "Body"));
    if (operation.requestBody.description) body.push(tag("p", { class: "text" }, operation.requestBody.description));
    body.push(...contentBlocks(operation.requestBody.content));
  }
  body.push(tag("h4", {}, "Responses"));
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    body.push(
      tag(
        "div",
        { class: `response s${status[0]}` },
        tag("span", { class: "status" }, status),
        tag("span", { class: "text" }, response.description ?? ""),
        ...contentBlocks(response.content),
      ),
    );
  }
  const summary = tag(
    "summary",
    {},
    tag("span", { class: `method ${method}` }, method.toUpperCase()),
    tag("code", {}, path),
    tag("span", { class: "summary" }, operation.summary ?? ""),
  );
  return tag(
    "details",
    { class: "operation", "data-search": `${method} ${path} ${operation.summary ?? ""}` },
    summary,
    ...body,
  );
}

function render(doc, root) {
  document.title = `${doc.info.title} ${doc.info.version}`;
  document.getElementById("title").textContent = `${doc.info.title} ${doc.info.version}`;
  document.getElementById("info").textContent = doc.info.description ?? "";
  root.replaceChildren();
  for (const { tag: group, operations } of groupByTag(doc)) {
    root.append(
      tag(
        "section",
        {},
        tag("h2", {}, group.name),
        tag("p", { class: "text" }, group.description ?? ""),
        ...operations.map(operationElement),
      ),
    );
  }
  const schemas = Object.entries(doc.components?.schemas ?? {});
  root.append(
    tag(
      "section",
      {},
      tag("h2", {}, "Schemas"),
      ...schemas.map(([name, schema]) =>
        tag(
          "details",
          { class: "operation", "data-search": name },
          tag("summary", {}, tag("code", {}, name), tag("span", { class: "summary" }, schema.description ?? "")),
          schemaBlock(schema),
        ),
      ),
    ),
  );
}

async function main() {
  const root = document.getElementById("api");
  const res = await fetch("openapi.json", { headers: { accept: "application/json" } });
  const doc = await res.json().catch(() => null);
  if (!res.ok || !doc?.paths) {
    root.replaceChildren(
      tag("p", { class: "failure" }, `openapi.json: HTTP ${res.status} ${doc?.error?.message ?? ""}`),
    );
    return;
  }
  render(doc, root);
  document.getElementById("filter").addEventListener("input", (event) => {
    const words = event.target.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const element of root.querySelectorAll("[data-search]")) {
      const text = element.dataset.search.toLowerCase();
      element.hidden = !words.every((word) => text.includes(word));
    }
  });
}

if (typeof document !== "undefined") {
  main().catch((error) => {
    document.getElementById("api").textContent = `could not show the API: ${error.message}`;
  });
}

/**
 * The shape of src/'s import graph: no cycles, the command line imported by main.ts alone,
 * and lower layers (session, protocol, net, config) never importing upper ones (ui, room,
 * join.ts, cli.ts). Edges are every import: static and dynamic (Bun's transpiler), and the
 * type-only ones it drops (`import type`, `import { type X }`, `export type … from`,
 * `import("…")` in a type), read from the source text.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const SRC = resolve(ROOT, "src");

/** Edges allowed to close a cycle, each with the reason and who must remove it (none now). */
const KNOWN_CYCLE_EDGES: ReadonlyMap<string, string> = new Map<string, string>([]);

const transpiler = new Bun.Transpiler({ loader: "ts" });

/** Module specifiers in `source`: what the transpiler sees, and the type-only imports it drops. */
export function importSpecifiers(source: string): string[] {
  const found = new Set<string>();
  // The transpiler takes a module body: a #! line (main.ts) would be a syntax error.
  for (const i of transpiler.scanImports(source.replace(/^#!.*/, ""))) found.add(i.path);
  const patterns = [
    // import type X from "m"; import type { X } from "m"; import { type X, Y } from "m";
    // export type { X } from "m"; export { type X } from "m" (multi-line lists too)
    /^\s*(?:import|export)\s+(?:type\s+)?(?:[\w*$\s,]*\{[^}]*\}|[\w*$\s,]+?)\s*from\s*["']([^"']+)["']/gm,
    // import("m"), in code or in a type position
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.add(m[1] as string);
  return [...found];
}

/** Every .ts file under src/, as paths relative to the repository ("src/ui/chat.ts"). */
function sourceFiles(): string[] {
  return [...new Bun.Glob("**/*.ts").scanSync({ cwd: SRC, onlyFiles: true })]
    .map((f) => `src/${f.split("\\").join("/")}`)
    .sort();
}

/** The graph: file -> the src/ files it imports (packages and node: builtins left out). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    const source = readFileSync(resolve(ROOT, file), "utf8");
    const targets = new Set<string>();
    for (const spec of importSpecifiers(source)) {
      if (!spec.startsWith(".")) continue;
      const abs = resolve(dirname(resolve(ROOT, file)), spec);
      const rel = relative(ROOT, abs).split("\\").join("/");
      if (!rel.startsWith("src/") || !rel.endsWith(".ts")) continue; // package.json, …
      if (!existsSync(abs)) continue; // a missing module is tsc's to report
      targets.add(rel);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** One cycle of `graph` (first file repeated at the end), or undefined. */
export function findCycle(
  graph: ReadonlyMap<string, readonly string[]>,
  skip: (from: string, to: string) => boolean = () => false,
): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (skip(node, next)) continue;
      const s = state.get(next);
      if (s === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (s === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

const graph = importGraph();
const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));

describe("the scanner", () => {
  test("sees static, dynamic and type-only imports", () => {
    const found = importSpecifiers(
      [
        'import { a } from "./a.ts";',
        'import type { B } from "./b.ts";',
        'import { type C, type D } from "./c.ts";',
        "import {\n  type E,\n  type F,\n} from './e.ts';",
        'export type { G } from "./g.ts";',
        'const h = await import("./h.ts");',
        'let i: import("./i.ts").I;',
        'import j from "./j.ts";',
        'import * as k from "./k.ts";',
        'export { l } from "./l.ts";',
      ].join("\n"),
    ).sort();
    expect(found).toEqual(
      ["./a.ts", "./b.ts", "./c.ts", "./e.ts", "./g.ts", "./h.ts", "./i.ts", "./j.ts"]
        .concat(["./k.ts", "./l.ts"])
        .sort(),
    );
  });

  test("finds a cycle and names it", () => {
    const g = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", []],
    ]);
    expect(findCycle(g)).toEqual(["a", "b", "c", "a"]);
    expect(findCycle(g, (f, t) => f === "c" && t === "a")).toBeUndefined();
  });

  test("the graph covers src/ and its known edges", () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get("src/main.ts")).toContain("src/cli.ts");
    expect(graph.get("src/cli.ts")).toContain("src/join.ts"); // dynamic
    expect(graph.get("src/join.ts")).toContain("src/io.ts"); // type-only
  });
});

describe("src/ imports", () => {
  test("have no cycle", () => {
    // Every cycle, each broken at its closing edge to find the next (bounded).
    const cut = new Set(KNOWN_CYCLE_EDGES.keys());
    const cycles: string[] = [];
    for (let i = 0; i < 50; i++) {
      const cycle = findCycle(graph, (from, to) => cut.has(`${from} -> ${to}`));
      if (!cycle) break;
      cycles.push(cycle.join(" -> "));
      cut.add(`${cycle.at(-2)} -> ${cycle.at(-1)}`);
    }
    for (const c of cycles) console.error(`import cycle: ${c}`);
    expect(cycles).toEqual([]);
  });

  test("every known exception is still an edge (remove it once it is gone)", () => {
    for (const edge of KNOWN_CYCLE_EDGES.keys()) {
      expect(edges.map((e) => `${e.from} -> ${e.to}`)).toContain(edge);
    }
  });

  test("cli.ts and main.ts are imported by main.ts alone (main.ts -> cli.ts)", () => {
    const bad = edges
      .filter((e) => e.to === "src/cli.ts" || e.to === "src/main.ts")
      .filter((e) => !(e.from === "src/main.ts" && e.to === "src/cli.ts"));
    expect(bad).toEqual([]);
  });

  test("lower layers (session, protocol, net, config) never import upper ones", () => {
    const lower = /^src\/(session|protocol|net|config)\//;
    const upper = /^src\/(ui\/|room\/|join\.ts$|cli\.ts$)/;
    const bad = edges.filter((e) => lower.test(e.from) && upper.test(e.to));
    expect(bad).toEqual([]);
  });
});

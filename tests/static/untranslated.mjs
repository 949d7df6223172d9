// Text a page's script shows that did not go through i18n.js: string and
// template literals holding a letter that reach what a person sees or hears,
// unless gettext/ngettext/pgettext (or interpolate of one) made them.
//
//   node tests/static/untranslated.mjs DIR [FILE ...]
//
// Reads every DIR/*.js module (a helper in one module may show what another
// passes it) and prints, as JSON, the findings in the FILEs named (all when
// none are): [{file, line, text, why}]. tests/static/test_i18n_js.py runs it.
//
// What counts as shown:
// - assignments to .textContent, .innerText, .innerHTML, .title, .alt,
//   .placeholder, .label and the aria properties;
// - setAttribute() of aria-label, title, alt, placeholder and the like;
// - announce(), alert(), confirm(), prompt(); new Option(); createTextNode();
//   append(), prepend(), replaceChildren(), before(), after(), replaceWith();
// - properties named label, title, help, text, message, alt, placeholder or
//   description in an object literal (what our helpers take and give back);
// - any argument of one of our own functions that reaches one of the above
//   (worked out across the modules until nothing more is learnt).
// A value is followed through conditionals, || and ??, +, template literals,
// constants and variables, arrays later joined, a constant object's entries,
// and what a function of ours returns. Anything else (the server's messages,
// model output, a person's own words) is not ours to translate.

import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parse } from "acorn";

const PROPERTIES = new Set([
  "textContent", "innerText", "innerHTML", "outerHTML", "title", "alt", "placeholder", "label",
  "ariaLabel", "ariaDescription", "ariaRoleDescription", "ariaValueText", "ariaPlaceholder",
]);
const ATTRIBUTES = new Set([
  "aria-label", "aria-description", "aria-roledescription", "aria-valuetext", "aria-placeholder",
  "title", "alt", "placeholder", "label",
]);
const SPEAKERS = new Set(["announce", "alert", "confirm", "prompt"]);
const INSERTERS = new Set(["append", "prepend", "replaceChildren", "before", "after", "replaceWith"]);
const KEYS = new Set(["label", "title", "help", "text", "message", "alt", "placeholder", "description"]);
// Not DOM nodes: their append() takes names and values, not text to show.
const NOT_NODES = new Set(["FormData", "URLSearchParams", "Headers"]);
// What passes through these is still what went in.
const STRING_METHODS = new Set(["toLowerCase", "toUpperCase", "toLocaleLowerCase", "toLocaleUpperCase", "trim", "trimStart", "trimEnd", "concat", "repeat", "padStart", "padEnd"]);
const TRANSLATORS = new Set(["gettext", "ngettext", "pgettext"]);
// ngettext's two forms, pgettext's context and message: literals all, for xgettext.
const MESSAGE_ARGUMENTS = { gettext: 1, ngettext: 2, pgettext: 2 };
const BRAND = /VisionQA/g; // a name, the same in every language

const hasLetter = (text) => /\p{L}/u.test(text.replace(BRAND, ""));

// Markup (an icon's SVG) has letters in its tag and attribute names and values
// that no one reads; only its text and its spoken attributes are shown. A piece
// of markup may be a fragment of a tag (a string split over lines).
const MARKUP = new Set([".innerHTML", ".outerHTML"]);
const markupShown = (text) =>
  text
    .replace(/\s(?:aria-label|aria-description|title|alt|placeholder)="([^"]*)"/g, " $1 ")
    .replace(/[\w:-]+="[^"]*"/g, "")
    .replace(/<\/?[\w:-]+/g, "")
    .replace(/\/?>/g, "");
const shows = (text, why) => hasLetter(MARKUP.has(why) ? markupShown(text) : text);
const isFunction = (node) =>
  node && ["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"].includes(node.type);
const nameOf = (node) =>
  node.type === "Identifier" ? node.name : node.type === "Literal" ? String(node.value) : null;
const calleeName = (callee) =>
  callee.type === "Identifier" ? callee.name
    : callee.type === "MemberExpression" && !callee.computed ? callee.property.name : null;

/** Every module in `dir`, parsed, each node knowing its parent. */
function load(dir) {
  const modules = new Map();
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".js")).sort()) {
    const file = path.join(dir, name);
    const source = readFileSync(file, "utf8");
    const ast = parse(source, { ecmaVersion: "latest", sourceType: "module", locations: true });
    ast.parent = null;
    const nodes = [...descendants(ast)];
    for (const node of nodes) for (const child of childrenOf(node)) child.parent = node;
    modules.set(file, { file, name, source, ast, nodes });
  }
  return modules;
}

class Checker {
  constructor(modules) {
    this.modules = modules;
    this.sinkParams = new Map(); // function node -> Set of "0" (an argument) or "0.alt" (its property)
    this.changed = false;
    this.findings = new Map(); // "file:start" -> finding
    this.assigned = new Map(); // declarator -> the values given it (a scope's walk, done once)
  }

  run() {
    // What our helpers show depends on what the helpers they call show:
    // go round until a pass learns nothing new.
    do {
      this.changed = false;
      for (const module of this.modules.values()) this.scan(module);
    } while (this.changed);
    return [...this.findings.values()].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  }

  scan(module) {
    for (const node of module.nodes) {
      if (node.type === "AssignmentExpression") this.assignment(module, node);
      else if (node.type === "CallExpression") this.call(module, node);
      else if (node.type === "NewExpression" && node.callee.type === "Identifier" && node.callee.name === "Option") {
        this.value(module, node.arguments[0], "new Option()");
      } else if (node.type === "Property" && !node.computed && KEYS.has(nameOf(node.key)) && node.parent.type === "ObjectExpression") {
        this.value(module, node.value, `an object's ${nameOf(node.key)}`);
      }
    }
  }

  assignment(module, node) {
    const target = node.left;
    if (target.type !== "MemberExpression" || target.computed || !PROPERTIES.has(target.property.name)) return;
    // el.dataset.title and el.style.* are data and looks, not words.
    const owner = target.object;
    if (owner.type === "MemberExpression" && !owner.computed && ["dataset", "style"].includes(owner.property.name)) return;
    this.value(module, node.right, `.${target.property.name}`);
  }

  call(module, node) {
    const name = calleeName(node.callee);
    const args = node.arguments;
    // Ours, imported from i18n.js (the catalog's own, wrapped there, take variables).
    if (TRANSLATORS.has(name) && node.callee.type === "Identifier") {
      for (const arg of args.slice(0, MESSAGE_ARGUMENTS[name])) {
        if (!(arg && arg.type === "Literal" && typeof arg.value === "string")) {
          this.report(module, arg || node, `${name}() needs a plain string literal (xgettext reads only those)`);
        }
      }
      return;
    }
    if (name === "setAttribute" && args[0]?.type === "Literal" && ATTRIBUTES.has(args[0].value)) {
      this.value(module, args[1], `setAttribute("${args[0].value}")`);
    } else if (SPEAKERS.has(name)) {
      this.value(module, args[0], `${name}()`);
    } else if (name === "createTextNode") {
      this.value(module, args[0], "createTextNode()");
    } else if (name === "insertAdjacentText" || name === "insertAdjacentHTML") {
      this.value(module, args[1], `${name}()`);
    } else if (INSERTERS.has(name) && node.callee.type === "MemberExpression" && !this.notANode(module, node.callee.object)) {
      for (const arg of args) this.value(module, arg, `${name}()`);
    }
    for (const fn of this.functionsCalled(module, node.callee)) {
      for (const key of this.sinkParams.get(fn) || []) {
        const [index, property] = key.split(".");
        const arg = args[Number(index)];
        if (!arg) continue;
        if (property === undefined) this.value(module, arg, `${name}()`);
        else if (arg.type === "ObjectExpression") {
          const prop = arg.properties.find((p) => p.type === "Property" && !p.computed && nameOf(p.key) === property);
          if (prop) this.value(module, prop.value, `${name}({${property}})`);
        }
      }
    }
  }

  notANode(module, object) {
    if (object.type !== "Identifier") return false;
    const binding = this.resolve(module, object);
    const init = binding?.kind === "var" ? binding.declarator.init : null;
    return Boolean(init && init.type === "NewExpression" && NOT_NODES.has(init.callee.name));
  }

  /** The functions of ours a callee names: a declaration, a const arrow, an import. */
  functionsCalled(module, callee) {
    if (callee.type !== "Identifier") return [];
    let binding = this.resolve(module, callee);
    if (binding?.kind === "import") binding = this.exported(binding.file, binding.imported)?.binding;
    if (binding?.kind === "function") return [binding.node];
    if (binding?.kind === "var" && isFunction(binding.declarator.init)) return [binding.declarator.init];
    return [];
  }

  /** What another module's top-level `name` is: {module, binding}. */
  exported(file, name) {
    const module = this.modules.get(file);
    if (!module) return null;
    for (const statement of module.ast.body) {
      const declaration = statement.type === "ExportNamedDeclaration" ? statement.declaration : statement;
      if (!declaration) continue;
      if (declaration.type === "FunctionDeclaration" && declaration.id.name === name) {
        return { module, binding: { kind: "function", node: declaration } };
      }
      if (declaration.type === "VariableDeclaration") {
        const declarator = declaration.declarations.find((d) => d.id.type === "Identifier" && d.id.name === name);
        if (declarator) return { module, binding: { kind: "var", declarator, scope: module.ast } };
      }
    }
    return null;
  }

  /** What an identifier stands for, looked up through the scopes around it. */
  resolve(module, id) {
    for (let scope = id.parent; scope; scope = scope.parent) {
      if (isFunction(scope)) {
        for (const [index, param] of scope.params.entries()) {
          const key = paramKey(param, id.name, index);
          if (key !== undefined) return { kind: "param", fn: scope, key };
        }
        if (scope.id && scope.id.name === id.name && scope.type === "FunctionExpression") return { kind: "function", node: scope };
      }
      if (["ForStatement", "ForOfStatement", "ForInStatement"].includes(scope.type)) {
        const declaration = scope.init || scope.left;
        if (declaration?.type === "VariableDeclaration" && declaration.declarations.some((d) => declares(d.id, id.name))) return { kind: "unknown" };
      }
      if (scope.type === "CatchClause" && scope.param && declares(scope.param, id.name)) return { kind: "unknown" };
      if (scope.type !== "BlockStatement" && scope.type !== "Program" && scope.type !== "StaticBlock") continue;
      for (const item of scope.body) {
        const statement = item.type === "ExportNamedDeclaration" && item.declaration ? item.declaration : item;
        if (statement.type === "FunctionDeclaration" && statement.id.name === id.name) return { kind: "function", node: statement };
        if (statement.type === "VariableDeclaration") {
          for (const declarator of statement.declarations) {
            if (declarator.id.type === "Identifier" && declarator.id.name === id.name) return { kind: "var", declarator, scope };
            if (declares(declarator.id, id.name)) return { kind: "unknown" };
          }
        }
        if (statement.type === "ImportDeclaration") {
          const specifier = statement.specifiers.find((s) => s.local.name === id.name);
          if (specifier) {
            const file = path.join(path.dirname(module.file), statement.source.value);
            const imported = specifier.type === "ImportSpecifier" ? nameOf(specifier.imported) : "default";
            return { kind: "import", file, imported };
          }
        }
      }
    }
    return null; // a global
  }

  /** Follow `node`, a value that is shown, to the literals it is made of. */
  value(module, node, why, seen = new Set()) {
    if (!node || seen.has(node)) return;
    seen.add(node);
    const follow = (next) => this.value(module, next, why, seen);
    switch (node.type) {
      case "Literal":
        if (typeof node.value === "string" && shows(node.value, why)) this.report(module, node, why);
        return;
      case "TemplateLiteral":
        if (node.quasis.some((q) => shows(q.value.cooked ?? q.value.raw, why))) this.report(module, node, why);
        node.expressions.forEach(follow);
        return;
      case "BinaryExpression":
        if (node.operator === "+") [node.left, node.right].forEach(follow);
        return;
      case "ConditionalExpression":
        [node.consequent, node.alternate].forEach(follow);
        return;
      case "LogicalExpression":
        [node.left, node.right].forEach(follow);
        return;
      case "SequenceExpression":
        follow(node.expressions.at(-1));
        return;
      case "AwaitExpression":
      case "SpreadElement":
        follow(node.argument);
        return;
      case "ArrayExpression":
        node.elements.forEach(follow);
        return;
      case "Identifier":
        this.identifier(module, node, follow, seen);
        return;
      case "MemberExpression":
        // STATUS_TEXT[status]: any of a constant object's entries.
        if (node.computed && node.object.type === "Identifier") {
          const binding = this.resolve(module, node.object);
          const init = binding?.kind === "var" ? binding.declarator.init : null;
          if (init?.type === "ObjectExpression") init.properties.forEach((p) => follow(p.value ?? p.argument));
        }
        return;
      case "CallExpression":
        this.callValue(module, node, follow, seen);
        return;
      default:
        return; // anything else is made elsewhere: the server's, the model's, a person's
    }
  }

  identifier(module, node, follow, seen) {
    const binding = this.resolve(module, node);
    if (!binding) return;
    if (binding.kind === "param") {
      const named = binding.fn.type === "FunctionDeclaration" || binding.fn.parent?.type === "VariableDeclarator";
      if (!named || binding.key === null) return;
      const keys = this.sinkParams.get(binding.fn) || new Set();
      if (!keys.has(binding.key)) {
        keys.add(binding.key);
        this.sinkParams.set(binding.fn, keys);
        this.changed = true;
      }
    } else if (binding.kind === "var") {
      for (const value of this.assignedValues(binding, node.name)) follow(value);
    } else if (binding.kind === "import") {
      const target = this.exported(binding.file, binding.imported);
      if (target?.binding.kind === "var") {
        for (const value of this.assignedValues(target.binding, binding.imported)) {
          this.value(target.module, value, "an imported constant", seen);
        }
      }
    }
  }

  /** A variable's initial value and every value later given it in its scope. */
  assignedValues(binding, name) {
    if (this.assigned.has(binding.declarator)) return this.assigned.get(binding.declarator);
    const values = binding.declarator.init ? [binding.declarator.init] : [];
    for (const node of descendants(binding.scope)) {
      if (node.type === "AssignmentExpression" && node.left.type === "Identifier" && node.left.name === name) {
        values.push(node.right);
      }
    }
    this.assigned.set(binding.declarator, values);
    return values;
  }

  callValue(module, node, follow, seen) {
    const name = calleeName(node.callee);
    const args = node.arguments;
    if (TRANSLATORS.has(name)) return; // translated (the literal rule is in call())
    if (name === "interpolate" && node.callee.type === "Identifier") {
      follow(args[0]);
      if (args[1]?.type === "ObjectExpression") args[1].properties.forEach((p) => follow(p.value ?? p.argument));
      else follow(args[1]);
      return;
    }
    if (name === "String") {
      follow(args[0]);
      return;
    }
    if (node.callee.type === "MemberExpression" && !node.callee.computed) {
      const object = node.callee.object;
      if (name === "join") {
        follow(object);
        if (object.type === "Identifier") this.pushed(module, object, follow);
        return;
      }
      if (STRING_METHODS.has(name)) {
        follow(object);
        args.forEach(follow);
      }
      return;
    }
    // A function of ours: what it returns is what is shown.
    for (const fn of this.functionsCalled(module, node.callee)) {
      const home = this.moduleOf(fn);
      const results = fn.expression ? [fn.body] : returnsOf(fn).map((r) => r.argument);
      for (const result of results) this.value(home, result, "what a function of ours returns", seen);
    }
  }

  /** What was pushed onto an array before it is joined. */
  pushed(module, id, follow) {
    const binding = this.resolve(module, id);
    if (binding?.kind !== "var") return;
    for (const node of descendants(binding.scope)) {
      if (node.type !== "CallExpression" || node.callee.type !== "MemberExpression") continue;
      const { object, property } = node.callee;
      if (object.type === "Identifier" && object.name === id.name && ["push", "unshift"].includes(property.name)) {
        node.arguments.forEach(follow);
      }
    }
  }

  moduleOf(node) {
    let root = node;
    while (root.parent) root = root.parent;
    return [...this.modules.values()].find((m) => m.ast === root);
  }

  report(module, node, why) {
    const key = `${module.file}:${node.start}`;
    if (this.findings.has(key)) return;
    const text = module.source.slice(node.start, node.end).replace(/\s+/g, " ");
    this.findings.set(key, {
      file: module.name,
      line: node.loc.start.line,
      text: text.length > 100 ? `${text.slice(0, 97)}...` : text,
      why,
    });
  }
}

/** The key a parameter gives the name `name`: "0", "0.alt", null (somewhere
 *  in an array pattern: not followed) or undefined (not this parameter). */
function paramKey(param, name, index) {
  if (param.type === "Identifier") return param.name === name ? String(index) : undefined;
  if (param.type === "AssignmentPattern") return paramKey(param.left, name, index);
  if (param.type === "ObjectPattern") {
    for (const prop of param.properties) {
      if (prop.type === "RestElement") {
        if (declares(prop.argument, name)) return null;
        continue;
      }
      const local = prop.value.type === "AssignmentPattern" ? prop.value.left : prop.value;
      if (local.type === "Identifier" && local.name === name) return prop.computed ? null : `${index}.${nameOf(prop.key)}`;
      if (declares(local, name)) return null;
    }
    return undefined;
  }
  return declares(param, name) ? null : undefined;
}

/** Whether a pattern (x, {a, b: [c]}, ...rest, d = 1) binds `name`. */
function declares(pattern, name) {
  if (!pattern) return false;
  switch (pattern.type) {
    case "Identifier":
      return pattern.name === name;
    case "AssignmentPattern":
      return declares(pattern.left, name);
    case "RestElement":
      return declares(pattern.argument, name);
    case "ArrayPattern":
      return pattern.elements.some((e) => declares(e, name));
    case "ObjectPattern":
      return pattern.properties.some((p) => declares(p.type === "RestElement" ? p : p.value, name));
    default:
      return false;
  }
}

/** A node's child nodes, whatever their kind. */
function* childrenOf(node) {
  for (const [key, child] of Object.entries(node)) {
    if (key === "parent") continue;
    if (Array.isArray(child)) yield* child.filter((c) => c && typeof c.type === "string");
    else if (child && typeof child.type === "string") yield child;
  }
}

/** `node` and every node under it; not into functions inside when `ownOnly`. */
function* descendants(node, ownOnly = false) {
  yield node;
  for (const child of childrenOf(node)) {
    if (ownOnly && isFunction(child)) continue;
    yield* descendants(child, ownOnly);
  }
}

/** A function's own return statements (not those of functions inside it). */
const returnsOf = (fn) => [...descendants(fn.body, true)].filter((n) => n.type === "ReturnStatement" && n.argument);

const [dir, ...only] = process.argv.slice(2);
if (!dir) {
  process.stderr.write("usage: node tests/static/untranslated.mjs DIR [FILE ...]\n");
  process.exit(2);
}
const wanted = new Set(only.map((f) => path.basename(f)));
const findings = new Checker(load(dir)).run().filter((f) => !wanted.size || wanted.has(f.file));
process.stdout.write(`${JSON.stringify(findings, null, 1)}\n`);

// The SPARQL editor of /sparql: CodeMirror 6 over the page's plain form, which works without it.
// Built by `npm run build` (make setup) into web/static/sparql/editor.js; styled by editor.css.
// It highlights SPARQL, completes the prefixes the endpoint declares (the textarea's
// data-prefixes) and SPARQL's keywords, runs the query on Ctrl+Enter or Cmd+Enter (a GET, so the
// address bar holds a URL that shows the same query and result when opened again), marks a syntax
// error at the line and column the endpoint names, pages a long result table, and offers the named
// queries as tabs over the editor (namedTabs).
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { EditorState, Prec } from "@codemirror/state";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { StreamLanguage, syntaxHighlighting, bracketMatching, indentOnInput } from "@codemirror/language";
import { sparql } from "@codemirror/legacy-modes/mode/sparql";
import { autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { setDiagnostics, lintGutter } from "@codemirror/lint";
import { classHighlighter } from "@lezer/highlight";

const KEYWORDS = [
  "SELECT", "DISTINCT", "REDUCED", "WHERE", "FILTER", "OPTIONAL", "UNION", "MINUS", "GRAPH", "BIND",
  "VALUES", "SERVICE", "ORDER BY", "GROUP BY", "HAVING", "LIMIT", "OFFSET", "ASC", "DESC", "AS",
  "PREFIX", "BASE", "CONSTRUCT", "DESCRIBE", "ASK", "FROM", "FROM NAMED", "NOT EXISTS", "EXISTS",
  "COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE", "GROUP_CONCAT", "SEPARATOR", "STR", "LANG",
  "LANGMATCHES", "DATATYPE", "BOUND", "IRI", "isIRI", "isLiteral", "isBlank", "REGEX", "CONTAINS",
  "STRSTARTS", "STRENDS", "LCASE", "UCASE", "STRLEN", "SUBSTR", "CONCAT", "REPLACE", "COALESCE", "IF",
  "YEAR", "NOW",
];

/** Complete prefix names (``cito:``, with their IRI beside) and keywords at the word before the cursor. */
function completions(prefixes) {
  const options = Object.keys(prefixes).sort().map((name) => ({
    label: name + ":", type: "namespace", detail: prefixes[name],
  })).concat(KEYWORDS.map((word) => ({ label: word, type: "keyword" })));
  return (context) => {
    const word = context.matchBefore(/[A-Za-z_][\w-]*:?/);
    if (!word || (word.from === word.to && !context.explicit)) {
      return context.explicit ? { from: context.pos, options } : null;
    }
    const before = context.state.sliceDoc(Math.max(0, word.from - 1), word.from);
    if (before === "?" || before === "$" || before === "<" || before === ":" || word.text.endsWith(":")) {
      return null; // a variable, an IRI, a local name, or a prefix already complete
    }
    return { from: word.from, options, validFor: /^[\w-]*$/ };
  };
}

/** Put a diagnostic at the 1-based ``line`` and ``column`` the endpoint's error names. */
function markError(view, line, column, message) {
  const doc = view.state.doc;
  if (!(line >= 1)) { return; }
  const at = doc.line(Math.min(line, doc.lines));
  const from = Math.min(at.from + Math.max(column, 1) - 1, at.to);
  const to = Math.min(from + 1, doc.length);
  view.dispatch(setDiagnostics(view.state, [{ from, to, severity: "error", message }]));
  view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
}

/** Show a long result table a page at a time, with Previous/Next buttons and "rows a–b of n". */
function pageTable(table, size) {
  const rows = Array.prototype.slice.call(table.tBodies[0] ? table.tBodies[0].rows : []);
  if (rows.length <= size) { return; }
  const nav = document.createElement("nav");
  nav.className = "pager sparql-pager";
  nav.setAttribute("aria-label", "Result pages");
  const prev = document.createElement("button");
  prev.type = "button"; prev.className = "secondary"; prev.textContent = "← Previous";
  const next = document.createElement("button");
  next.type = "button"; next.className = "secondary"; next.textContent = "Next →";
  const status = document.createElement("span");
  status.setAttribute("aria-live", "polite");
  status.className = "sparql-page-status";
  nav.append(prev, status, next);
  const wrap = table.closest(".table-wrap") || table;
  wrap.after(nav);
  const pages = Math.ceil(rows.length / size);
  let page = 0;
  function show() {
    rows.forEach((row, i) => { row.hidden = Math.floor(i / size) !== page; });
    const first = page * size + 1;
    const last = Math.min(rows.length, first + size - 1);
    status.textContent = `Rows ${first}–${last} of ${rows.length}`;
    prev.disabled = page === 0;
    next.disabled = page === pages - 1;
  }
  prev.addEventListener("click", () => { if (page > 0) { page -= 1; show(); } });
  next.addEventListener("click", () => { if (page < pages - 1) { page += 1; show(); } });
  show();
}

/** Make an element with attributes and text. */
function make(tag, attributes, text) {
  const element = document.createElement(tag);
  Object.keys(attributes || {}).forEach((name) => element.setAttribute(name, attributes[name]));
  if (text) { element.textContent = text; }
  return element;
}

/** The named queries as a WAI-ARIA tab list over the editor (automatic activation, roving tabindex).
 *
 * The first tab holds a query of your own, the others the named queries. Picking a tab loads its
 * text (and its parameters' fields) into the one tab panel; each tab keeps your edits while you
 * switch. The run is the same GET as without tabs (query=, and named= with param.NAME= for a named
 * query), so its URL opens the same tab with the same text. Without script the page keeps the
 * picker and the list of example queries, both plain links and options.
 */
function namedTabs(view, textarea, host) {
  let named = [];
  try { named = JSON.parse(textarea.getAttribute("data-named") || "[]"); } catch (e) { named = []; }
  if (!named.length) { return; }
  const form = textarea.form;
  const given = document.getElementById("named");
  const chosen = given ? given.value : "";
  const text = view.state.doc.toString();
  // The parameters' values the page was given, by name (the server's fieldset, replaced below).
  const values = {};
  const fieldset = form.querySelector("fieldset.params");
  if (fieldset) {
    fieldset.querySelectorAll("input[name^='param.']").forEach((input) => {
      values[input.name.slice("param.".length)] = input.value;
    });
    fieldset.remove();
  }
  const tabs = [{ name: "", label: "Your query", description: "A query of your own.", params: [],
                  text: "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10\n", values: {} }]
    .concat(named.map((q) => ({ name: q.name, label: q.name, description: q.description, params: q.params,
                                text: q.text, values: {} })));
  let current = tabs.findIndex((t) => t.name && t.name === chosen);
  if (current < 0) { current = tabs.findIndex((t) => t.name && t.text === text); }
  if (current < 0) { current = 0; }
  tabs[current].text = text;
  tabs[current].values = values;

  const list = make("div", { role: "tablist", "aria-label": "Example queries", class: "query-tabs" });
  const panel = make("div", { role: "tabpanel", id: "query-panel", class: "query-panel" });
  const description = make("p", { id: "query-description", class: "hint query-description" });
  const params = make("div", { class: "query-params" });
  const buttons = tabs.map((tab, i) => {
    const button = make("button", { type: "button", role: "tab", id: `query-tab-${i}`,
                                    "aria-controls": "query-panel" }, tab.label);
    button.addEventListener("click", () => select(i, false));
    list.append(button);
    return button;
  });
  const label = form.querySelector("label[for=query]");
  label.before(list);
  list.after(panel);
  panel.append(label, description, textarea, host, params);
  const help = document.getElementById("query-help");
  if (help) { panel.append(help); }
  let hidden = given;
  if (!hidden) {
    hidden = make("input", { type: "hidden", id: "named" });
    form.append(hidden);
  }
  const picker = document.querySelector("form.named-picker");
  if (picker) { picker.hidden = true; } // the tabs stand in for it

  function keep() {
    const tab = tabs[current];
    tab.text = view.state.doc.toString();
    params.querySelectorAll("input[name^='param.']").forEach((input) => {
      tab.values[input.name.slice("param.".length)] = input.value;
    });
  }
  function show() {
    const tab = tabs[current];
    buttons.forEach((button, i) => {
      button.setAttribute("aria-selected", i === current ? "true" : "false");
      button.tabIndex = i === current ? 0 : -1;
    });
    panel.setAttribute("aria-labelledby", buttons[current].id);
    description.textContent = tab.description;
    // named= goes with a named query's run only (its parameters are read by that name).
    if (tab.name) { hidden.name = "named"; hidden.value = tab.name; } else { hidden.removeAttribute("name"); }
    params.replaceChildren();
    if (tab.params.length) {
      const set = make("fieldset", { class: "params" });
      set.append(make("legend", {}, `Parameters of ${tab.name} (leave empty for all)`));
      tab.params.forEach((p) => {
        const row = make("p");
        const field = make("label", { for: `param-${p.name}` }, `?${p.name}`);
        const input = make("input", { type: "text", id: `param-${p.name}`, name: `param.${p.name}`, maxlength: "500" });
        input.value = tab.values[p.name] || "";
        row.append(field, " ", input, " ", make("span", { class: "hint" }, p.description));
        set.append(row);
      });
      params.append(set);
    }
  }
  function select(i, focus) {
    if (i !== current) {
      keep();
      current = i;
      const next = tabs[current].text;
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: next } });
      view.dispatch(setDiagnostics(view.state, []));
    }
    show();
    if (focus) { buttons[current].focus(); }
  }
  list.addEventListener("keydown", (event) => {
    const moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: tabs.length - 1 };
    if (!(event.key in moves) || event.altKey || event.ctrlKey || event.metaKey) { return; }
    event.preventDefault();
    select((moves[event.key] + tabs.length) % tabs.length, true);
  });
  form.addEventListener("submit", keep);
  show();
}

function start() {
  const textarea = document.getElementById("query");
  if (!textarea || !textarea.form) { return; }
  const form = textarea.form;
  let prefixes = {};
  try { prefixes = JSON.parse(textarea.getAttribute("data-prefixes") || "{}"); } catch (e) { prefixes = {}; }
  const run = () => { form.requestSubmit(); return true; };
  // CodeMirror adds its base styles as a constructed stylesheet only inside a shadow root (in the
  // document it writes a <style> element, which the strict Content-Security-Policy refuses), so
  // the editor lives in one, with editor.css linked in beside it.
  const host = document.createElement("div");
  host.className = "sparql-editor-host";
  const shadow = host.attachShadow({ mode: "open" });
  const sheet = document.querySelector("link[rel=stylesheet][href*='sparql/editor.css']");
  if (sheet) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = sheet.href;
    shadow.append(link);
  }
  const view = new EditorView({
    root: shadow,
    parent: shadow,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        Prec.highest(keymap.of([{ key: "Mod-Enter", run }, { key: "Ctrl-Enter", run }, { key: "Meta-Enter", run }])),
        lineNumbers(), history(), drawSelection(), highlightActiveLine(), indentOnInput(),
        bracketMatching(), closeBrackets(), lintGutter(),
        StreamLanguage.define(sparql), syntaxHighlighting(classHighlighter),
        autocompletion({ override: [completions(prefixes)], icons: false }),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({
          "aria-label": "SPARQL query (Ctrl+Enter runs it; Escape then Tab leaves the editor)",
        }),
      ],
    }),
  });
  textarea.hidden = true;
  textarea.after(host);
  view.dom.classList.add("sparql-editor");
  form.addEventListener("submit", () => { textarea.value = view.state.doc.toString(); });
  const label = document.querySelector("label[for=query]");
  if (label) { label.addEventListener("click", () => view.focus()); }
  const help = document.getElementById("query-help");
  if (help) { help.hidden = false; }
  namedTabs(view, textarea, host);

  const error = document.getElementById("sparql-error");
  if (error && error.hasAttribute("data-line")) {
    markError(view, Number(error.getAttribute("data-line")), Number(error.getAttribute("data-column")),
              error.textContent);
  }
  const results = document.querySelector(".sparql-results");
  const table = results && results.querySelector("table");
  if (table) { pageTable(table, Number(results.getAttribute("data-page-size")) || 50); }
  window.kgSparqlEditor = view; // for the browser tests and the console
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}

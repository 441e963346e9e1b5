// The SPARQL editor of /sparql: CodeMirror 6 over the page's plain form, which works without it.
// Built by `npm run build` (make setup) into web/static/sparql/editor.js; styled by editor.css.
// It highlights SPARQL, completes the prefixes the endpoint declares (the textarea's
// data-prefixes) and SPARQL's keywords, runs the query on Ctrl+Enter or Cmd+Enter (a GET, so the
// address bar holds a URL that shows the same query and result when opened again), marks a syntax
// error at the line and column the endpoint names, and pages a long result table.
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

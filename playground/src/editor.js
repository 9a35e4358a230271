// The two editors: CodeMirror 6 with YAML highlighting, plus podsec's marks: a gutter
// marker and a tinted background on every line a violation (or parse error) points at, and
// a stronger highlight on the line of the violation picked in the verdict panel.

import { EditorState, StateEffect, StateField, RangeSet } from "@codemirror/state";
import {
  Decoration,
  EditorView,
  GutterMarker,
  drawSelection,
  gutter,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { yaml } from "@codemirror/lang-yaml";

// { marks: [{ line, kind: "violation" | "error", title }], active: line | null }
const setMarks = StateEffect.define();
const setActive = StateEffect.define();

const marksField = StateField.define({
  create: () => ({ marks: [], active: null }),
  update(value, transaction) {
    let next = value;
    for (const effect of transaction.effects) {
      if (effect.is(setMarks)) next = { marks: effect.value, active: null };
      if (effect.is(setActive)) next = { ...next, active: effect.value };
    }
    return next;
  },
  provide: (field) =>
    EditorView.decorations.from(field, (value) => (view) => lineDecorations(view.state, value)),
});

function lineDecorations(state, { marks, active }) {
  const byLine = new Map();
  for (const mark of marks) {
    if (mark.line >= 1 && mark.line <= state.doc.lines) {
      const classes = byLine.get(mark.line) ?? new Set();
      classes.add(mark.kind === "error" ? "cm-podsec-error" : "cm-podsec-violation");
      byLine.set(mark.line, classes);
    }
  }
  if (active !== null && active >= 1 && active <= state.doc.lines) {
    const classes = byLine.get(active) ?? new Set();
    classes.add("cm-podsec-active");
    byLine.set(active, classes);
  }
  const ranges = [...byLine.entries()]
    .sort(([a], [b]) => a - b)
    .map(([line, classes]) => Decoration.line({ class: [...classes].join(" ") }).range(state.doc.line(line).from));
  return Decoration.set(ranges);
}

class Marker extends GutterMarker {
  constructor(kind, title) {
    super();
    this.kind = kind;
    this.title = title;
  }
  eq(other) {
    return other.kind === this.kind && other.title === this.title;
  }
  toDOM() {
    const element = document.createElement("span");
    element.className = `cm-podsec-marker ${this.kind}`;
    element.textContent = this.kind === "error" ? "✕" : "●";
    element.title = this.title;
    return element;
  }
}

const markGutter = gutter({
  class: "cm-podsec-gutter",
  markers(view) {
    const { marks } = view.state.field(marksField);
    const byLine = new Map();
    for (const mark of marks) {
      if (mark.line < 1 || mark.line > view.state.doc.lines) continue;
      const seen = byLine.get(mark.line);
      const kind = seen?.kind === "error" || mark.kind === "error" ? "error" : "violation";
      const title = seen ? `${seen.title}\n${mark.title}` : mark.title;
      byLine.set(mark.line, { kind, title });
    }
    const ranges = [...byLine.entries()]
      .sort(([a], [b]) => a - b)
      .map(([line, { kind, title }]) => new Marker(kind, title).range(view.state.doc.line(line).from));
    return RangeSet.of(ranges);
  },
  initialSpacer: () => new Marker("spacer", ""),
});

const theme = EditorView.theme({
  "&": { height: "100%", fontSize: "14px" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" },
  ".cm-podsec-violation": { backgroundColor: "#fff1c2" },
  ".cm-podsec-error": { backgroundColor: "#ffd9d9" },
  ".cm-podsec-active": { backgroundColor: "#ffc94d", outline: "2px solid #8a5a00" },
  ".cm-podsec-gutter": { width: "1.2em" },
  ".cm-podsec-marker": { cursor: "default", fontSize: "12px" },
  ".cm-podsec-marker.violation": { color: "#8a5a00" },
  ".cm-podsec-marker.error": { color: "#b00020" },
});

/// An editor in `parent` holding `text`; `onChange(text)` after every edit.
export function createEditor(parent, text, onChange, label) {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        markGutter,
        highlightActiveLineGutter(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        yaml(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        EditorState.tabSize.of(2),
        marksField,
        theme,
        EditorView.contentAttributes.of({ "aria-label": label }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
}

/// Replaces the editor's text (one undoable change).
export function setText(view, text) {
  if (view.state.doc.toString() === text) return;
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

/// Marks the lines violations and errors point at.
export function markLines(view, marks) {
  view.dispatch({ effects: setMarks.of(marks) });
}

/// Highlights `line` and scrolls it into the middle of the editor.
export function highlightLine(view, line) {
  const target = Math.min(Math.max(1, line), view.state.doc.lines);
  const { from } = view.state.doc.line(target);
  view.dispatch({
    selection: { anchor: from },
    effects: [setActive.of(target), EditorView.scrollIntoView(from, { y: "center" })],
  });
}

// caiji agent: the data grid (editing in place, keyboard navigation, validation as one types).
//
// Keys as in Excel: arrows and Home/End move (PageUp/PageDown turn the page); Enter or F2
// edits; typing starts editing; Enter saves and moves down, Tab saves and moves right
// (Shift+Tab left); Esc cancels; Delete clears a cell; Ctrl+C copies the cell and Ctrl+V
// pastes a block copied from Excel (tab-separated rows) from the current cell; Ctrl+Z undoes
// the last save or paste made on the page.
// Each save is a POST of one cell; the reply is the stored value and its problems. A failed
// save keeps the editor open with the typed text, so nothing typed is lost.
"use strict";
(function () {
  const table = document.getElementById("grid");
  if (!table) return;
  const tableId = table.dataset.table;
  const editable = table.dataset.editable === "1";
  const enrolled = table.dataset.enrolled === "1";
  const heads = {};
  table.querySelectorAll("thead th[data-field]").forEach(function (th) { heads[th.dataset.field] = th; });
  const place = document.getElementById("cell-place");
  const msgBar = document.getElementById("cell-msg");
  const help = document.getElementById("cell-help");
  const historyLink = document.getElementById("cell-history");
  let current = null;
  let editor = null; // { td, input, original, busy, timer }
  // Ctrl+Z: what each save or paste on this page replaced, as a paste that puts it back.
  const undo = [];

  function rows() { return Array.from(table.querySelectorAll("tbody tr[data-row]")); }
  function dataCells(tr) { return Array.from(tr.querySelectorAll("td[data-field]")); }
  function valueOf(td) { const v = td.querySelector("span.v"); return v ? v.textContent : ""; }
  function label(td) { const th = heads[td.dataset.field]; return th ? th.firstChild.textContent : td.dataset.field; }
  function where(td) {
    const no = td.parentElement.dataset.no;
    return tableId + (no ? " 第" + no + "行" : " 已删除的行") + "「" + label(td) + "」";
  }

  function showMessages(td, messages) {
    let span = td.querySelector("span.msg");
    td.classList.remove("c-error", "c-warning");
    const errors = messages.filter(function (m) { return m.severity === "error"; });
    const shown = errors.length ? errors : messages;
    if (errors.length) td.classList.add("c-error"); else if (messages.length) td.classList.add("c-warning");
    if (!shown.length) { if (span) span.remove(); td.removeAttribute("title"); return; }
    if (!span) { span = document.createElement("span"); span.className = "msg"; td.appendChild(span); }
    span.textContent = shown[0].message;
    td.title = messages.map(function (m) { return m.message; }).join("\n");
  }

  function bar(td, text) {
    if (!td) return;
    place.textContent = where(td);
    const th = heads[td.dataset.field];
    help.textContent = th ? th.dataset.help : "";
    msgBar.textContent = text !== undefined ? text : (td.title || "");
    historyLink.hidden = false;
    historyLink.href = "/tables/" + encodeURIComponent(tableId) + "/history?row=" +
      encodeURIComponent(td.parentElement.dataset.row) + "&field=" + encodeURIComponent(td.dataset.field);
  }

  function select(td, scroll) {
    if (!td) return;
    if (current) current.classList.remove("current");
    current = td;
    td.classList.add("current");
    if (scroll) td.scrollIntoView({ block: "nearest", inline: "nearest" });
    bar(td);
    if (!editor && document.activeElement && document.activeElement.id === "grid-keys") focusKeys();
  }

  function move(dr, dc) {
    if (!current) return;
    const all = rows();
    const r = all.indexOf(current.parentElement);
    const cells = dataCells(current.parentElement);
    const c = cells.indexOf(current);
    const nr = Math.max(0, Math.min(all.length - 1, r + dr));
    const ncells = dataCells(all[nr]);
    const nc = Math.max(0, Math.min(ncells.length - 1, c + dc));
    select(ncells[nc], true);
  }

  function startEdit(initial) {
    if (!current || editor) return;
    if (!editable || current.classList.contains("c-locked")) {
      bar(current, document.getElementById("locked-note") ? document.getElementById("locked-note").textContent : "这一行只读");
      return;
    }
    const td = current;
    const input = document.createElement("input");
    input.type = "text";
    input.className = "cell-editor";
    input.setAttribute("aria-label", where(td));
    const original = valueOf(td);
    input.value = initial !== undefined ? initial : original;
    const v = td.querySelector("span.v");
    if (v) v.hidden = true;
    td.insertBefore(input, td.firstChild);
    const msg = td.querySelector("span.msg");
    editor = {
      td: td, input: input, original: original, busy: false, timer: null,
      // What the cell said before editing, put back on Esc.
      before: { className: td.className, title: td.getAttribute("title"), msg: msg ? msg.textContent : null },
    };
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    input.addEventListener("input", function () { scheduleCheck(); });
    input.addEventListener("keydown", onEditorKey);
    // A block of cells pasted into the editor is pasted as cells, as Excel does.
    input.addEventListener("paste", function (ev) {
      const text = ev.clipboardData ? ev.clipboardData.getData("text/plain") : "";
      if (!/[\t\n]/.test(text.replace(/\r?\n$/, ""))) return;
      ev.preventDefault();
      cancelEdit();
      paste(text);
    });
    input.addEventListener("blur", function () { if (editor && editor.input === input) commit(0, 0, false); });
    if (initial !== undefined) scheduleCheck();
  }

  function lostFocus() { return !document.activeElement || document.activeElement === document.body; }

  function closeEditor(value) {
    const e = editor;
    if (!e) return;
    editor = null;
    clearTimeout(e.timer);
    const v = e.td.querySelector("span.v");
    if (v) { v.textContent = value; v.hidden = false; }
    e.input.remove();
  }

  function scheduleCheck() {
    const e = editor;
    clearTimeout(e.timer);
    e.timer = setTimeout(async function () {
      const text = e.input.value;
      try {
        const r = await caiji.post("/tables/" + encodeURIComponent(tableId) + "/check",
          { field: e.td.dataset.field, text: text });
        if (editor !== e || e.input.value !== text) return;
        showMessages(e.td, r.messages);
        bar(e.td, r.messages.map(function (m) { return m.message; }).join("；"));
      } catch (err) {
        if (editor === e) bar(e.td, err.message);
      }
    }, 300);
  }

  async function commit(dr, dc, refocus) {
    const e = editor;
    if (!e || e.busy) return;
    const text = e.input.value;
    if (text === e.original) {
      closeEditor(e.original);
      if (refocus || lostFocus()) focusKeys();
      move(dr, dc);
      return;
    }
    e.busy = true;
    clearTimeout(e.timer);
    try {
      const r = await caiji.post("/tables/" + encodeURIComponent(tableId) + "/cell",
        { row: e.td.parentElement.dataset.row, field: e.td.dataset.field, text: text });
      closeEditor(r.value);
      showMessages(e.td, r.messages);
      if (r.saved) {
        undo.push({ rows: [e.td.parentElement.dataset.row], fields: [e.td.dataset.field], cells: [[e.original]] });
      }
      if (r.saved && enrolled) e.td.classList.add("c-pending");
      e.td.classList.add("saved");
      const said = r.messages.map(function (m) { return m.message; }).join("；");
      if (refocus || lostFocus()) focusKeys();
      move(dr, dc);
      if (current === e.td) bar(e.td, said ? r.place + "：" + said : r.place + "：已保存");
      else bar(current);
      msgBar.dataset.last = said ? r.place + "：" + said : r.place + "：已保存";
    } catch (err) {
      // Keep what was typed: the editor stays open with the text and the reason.
      e.busy = false;
      bar(e.td, err.message);
      const span = e.td.querySelector("span.msg") || document.createElement("span");
      span.className = "msg";
      span.textContent = err.message;
      e.td.appendChild(span);
      e.input.focus();
    }
  }

  function onEditorKey(ev) {
    ev.stopPropagation();
    // Enter inside a Chinese input method picks a candidate; it does not save.
    if (ev.isComposing || ev.keyCode === 229) return;
    if (ev.key === "Enter") { ev.preventDefault(); commit(1, 0, true); }
    else if (ev.key === "Tab") { ev.preventDefault(); commit(0, ev.shiftKey ? -1 : 1, true); }
    else if (ev.key === "Escape") { ev.preventDefault(); cancelEdit(); }
  }

  // Closes the editor without saving and puts back what the cell said before.
  function cancelEdit() {
    const td = editor.td;
    const before = editor.before;
    closeEditor(editor.original);
    td.className = before.className;
    if (before.title === null) td.removeAttribute("title"); else td.title = before.title;
    const span = td.querySelector("span.msg");
    if (before.msg === null) { if (span) span.remove(); } else if (span) span.textContent = before.msg;
    focusKeys();
    bar(td);
  }

  // Excel's clipboard text: cells separated by tabs, rows by line breaks; a cell holding a
  // tab, a line break or a quote is quoted, with "" for a quote.
  function parseClipboard(text) {
    const out = [];
    let row = [], cell = "", quoted = false;
    text = text.replace(/\r\n?/g, "\n");
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        if (ch !== '"') cell += ch;
        else if (text[i + 1] === '"') { cell += '"'; i++; }
        else quoted = false;
      } else if (ch === '"' && cell === "") quoted = true;
      else if (ch === "\t") { row.push(cell); cell = ""; }
      else if (ch === "\n") { row.push(cell); out.push(row); row = []; cell = ""; }
      else cell += ch;
    }
    if (cell !== "" || row.length) { row.push(cell); out.push(row); }
    return out;
  }

  function clipboardCell(v) {
    return /[\t\n"]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }

  // Pastes a block from the current cell: right across the fields and down the rows shown;
  // rows beyond them are added at the end when the last page shows unfiltered.
  async function paste(text) {
    if (!current) return;
    if (!editable || current.classList.contains("c-locked")) {
      bar(current, document.getElementById("locked-note") ? document.getElementById("locked-note").textContent : "这一行只读");
      return;
    }
    const block = parseClipboard(text);
    if (!block.length) return;
    if (block.length === 1 && block[0].length === 1) { startEdit(block[0][0]); commit(0, 0, true); return; }
    const all = rows();
    const start = current;
    const targets = all.slice(all.indexOf(start.parentElement)).filter(function (tr) { return tr.dataset.no; })
      .map(function (tr) { return tr.dataset.row; });
    const cells = dataCells(start.parentElement);
    const fields = cells.slice(cells.indexOf(start)).map(function (td) { return td.dataset.field; });
    // What the block covers now, to put back on Ctrl+Z.
    const before = {
      rows: targets.slice(0, block.length), fields: fields,
      cells: targets.slice(0, block.length).map(function (row, i) {
        const tr = all.find(function (x) { return x.dataset.row === row; });
        return fields.slice(0, block[i].length).map(function (f) {
          return valueOf(tr.querySelector('td[data-field="' + CSS.escape(f) + '"]'));
        });
      }),
    };
    bar(start, "正在粘贴…");
    try {
      const r = await caiji.post("/tables/" + encodeURIComponent(tableId) + "/paste",
        { rows: targets, fields: fields, cells: block, append: table.dataset.append === "1" });
      if (r.added) {
        sessionStorage.setItem("caiji-grid-said", r.message);
        window.location.href = "/tables/" + encodeURIComponent(tableId) + "?focus=" + encodeURIComponent(start.parentElement.dataset.row);
        return;
      }
      undo.push(before);
      shown(r.cells);
      bar(start, r.message);
      msgBar.dataset.last = r.message;
    } catch (err) {
      bar(start, err.message);
    }
  }

  // Shows cells as the server stored them (a paste's or an undo's reply).
  function shown(cells) {
    const all = rows();
    cells.forEach(function (c) {
      const tr = all.find(function (x) { return x.dataset.row === c.row; });
      const td = tr && tr.querySelector('td[data-field="' + CSS.escape(c.field) + '"]');
      if (!td) return;
      const v = td.querySelector("span.v");
      if (v && v.textContent !== c.value) {
        v.textContent = c.value;
        td.classList.add("saved");
        if (enrolled) td.classList.add("c-pending");
      }
      showMessages(td, c.messages);
    });
  }

  // Ctrl+Z puts back what the last save or paste on this page replaced (a new row added by
  // a paste stays: delete it if it is not wanted).
  async function undoLast() {
    const last = undo.pop();
    if (!last) { if (current) bar(current, "没有可以撤销的修改"); return; }
    const all = rows();
    const tr = all.find(function (x) { return x.dataset.row === last.rows[0]; });
    const td = tr && tr.querySelector('td[data-field="' + CSS.escape(last.fields[0]) + '"]');
    if (td) select(td, true);
    try {
      const r = await caiji.post("/tables/" + encodeURIComponent(tableId) + "/paste",
        { rows: last.rows, fields: last.fields, cells: last.cells, append: false });
      shown(r.cells);
      const n = last.cells.reduce(function (a, row) { return a + row.length; }, 0);
      const said = n === 1 ? "已撤销：" + (td ? where(td) : "") + " 恢复为「" + last.cells[0][0] + "」" : "已撤销上一次粘贴（" + n + " 个单元格）";
      if (current) bar(current, said);
      msgBar.dataset.last = said;
    } catch (err) {
      undo.push(last);
      if (current) bar(current, err.message);
    }
  }

  // Keys reach the grid through a hidden text box that follows the current cell: what one
  // types (also through a Chinese input method, whose candidates show beside the cell) lands
  // there and opens the cell's editor with it.
  const keys = document.createElement("input");
  keys.type = "text";
  keys.id = "grid-keys";
  keys.className = "grid-keys";
  keys.setAttribute("aria-label", "表格输入");
  keys.autocomplete = "off";
  document.body.appendChild(keys);

  function focusKeys() {
    if (current) {
      const r = current.getBoundingClientRect();
      keys.style.left = Math.max(0, r.left) + "px";
      keys.style.top = Math.max(0, r.top) + "px";
    }
    keys.focus({ preventScroll: true });
  }

  function typed() {
    const text = keys.value;
    keys.value = "";
    if (text && current && !editor) startEdit(text);
  }
  keys.addEventListener("input", function (ev) { if (!ev.isComposing) typed(); });
  keys.addEventListener("compositionend", typed);
  keys.addEventListener("paste", function (ev) {
    if (editor || !current) return;
    ev.preventDefault();
    paste(ev.clipboardData ? ev.clipboardData.getData("text/plain") : "");
  });
  keys.addEventListener("copy", function (ev) {
    if (editor || !current || !ev.clipboardData) return;
    ev.preventDefault();
    ev.clipboardData.setData("text/plain", clipboardCell(valueOf(current)));
    bar(current, "已复制「" + valueOf(current) + "」");
  });
  table.addEventListener("focus", function () { if (current && !editor) focusKeys(); });

  keys.addEventListener("keydown", function (ev) {
    if (editor || !current || ev.isComposing || ev.keyCode === 229) return;
    const k = ev.key;
    if ((ev.ctrlKey || ev.metaKey) && (k === "z" || k === "Z") && !ev.shiftKey) {
      ev.preventDefault();
      if (editable) undoLast();
      return;
    }
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (moves[k]) { ev.preventDefault(); move(moves[k][0], moves[k][1]); }
    else if (k === "Tab") { ev.preventDefault(); move(0, ev.shiftKey ? -1 : 1); }
    else if (k === "Home" || k === "End") { ev.preventDefault(); move(0, k === "Home" ? -1e6 : 1e6); }
    else if (k === "PageDown" || k === "PageUp") {
      const link = document.getElementById(k === "PageDown" ? "next-page" : "prev-page");
      ev.preventDefault();
      if (link) window.location.href = link.href; else move(k === "PageDown" ? 1e6 : -1e6, 0);
    }
    else if (k === "Enter" || k === "F2") { ev.preventDefault(); startEdit(); }
    else if (k === "Delete" || k === "Backspace") {
      ev.preventDefault();
      if (valueOf(current) !== "") { startEdit(""); commit(0, 0, true); }
    }
  });

  table.addEventListener("click", function (ev) {
    const th = ev.target.closest("thead th[data-field]");
    if (th) {
      place.textContent = th.firstChild.textContent;
      help.textContent = th.dataset.help;
      msgBar.textContent = "";
      historyLink.hidden = true;
      return;
    }
    const td = ev.target.closest("td[data-field]");
    if (!td || (editor && editor.td === td)) return;
    select(td, false);
    if (!editor) focusKeys();
  });

  table.addEventListener("dblclick", function (ev) {
    const td = ev.target.closest("td[data-field]");
    if (td && !editor) { select(td, false); startEdit(); }
  });

  table.querySelectorAll("button.del, button.restore").forEach(function (b) {
    b.addEventListener("click", async function () {
      const restore = b.classList.contains("restore");
      if (!restore && !window.confirm("确定删除这一行吗？删除后可在“已删除的行”中恢复。")) return;
      try {
        await caiji.post("/tables/" + encodeURIComponent(tableId) + "/rows/delete", { row: b.dataset.row, restore: restore });
        window.location.reload();
      } catch (err) {
        msgBar.textContent = err.message;
      }
    });
  });

  // What the last paste said, across the reload that shows its new rows.
  const said = sessionStorage.getItem("caiji-grid-said");
  sessionStorage.removeItem("caiji-grid-said");

  // Start at the row the address names (?focus=ROW), else at the first cell.
  const focus = new URLSearchParams(window.location.search).get("focus");
  const start = (focus && rows().find(function (tr) { return tr.dataset.row === focus; })) || rows()[0];
  if (start) {
    select(dataCells(start)[0], !!focus);
    if (focus) focusKeys();
  }
  if (said) { msgBar.textContent = said; msgBar.dataset.last = said; }
})();

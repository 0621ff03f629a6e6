// caiji hub: scripts of the office's screens (progress board refresh, review helpers).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The progress board reloads itself when something changed (a sync, an action, the plan).
  const board = document.querySelector("table.board[data-version]");
  if (board) {
    const seen = board.dataset.version;
    setInterval(async function () {
      try {
        const r = await window.caiji.get("/board/version");
        if (r && r.version && r.version !== seen) window.location.reload();
      } catch (_) { /* offline for a moment: try again later */ }
    }, 4000);
  }

  // Review: a click on a cell of the submitted data picks its row and field for a comment
  // and offers "who changed this number".
  const data = document.querySelector("#data[data-who]");
  const rowPick = document.querySelector("#comment-row");
  const fieldPick = document.querySelector("#comment-field");
  if (data && rowPick && fieldPick) {
    data.addEventListener("click", function (ev) {
      const td = ev.target.closest("td[data-field]");
      if (!td) return;
      const tr = td.parentElement;
      rowPick.value = tr.dataset.row;
      fieldPick.value = td.dataset.field;
      data.querySelectorAll("td.picked").forEach(function (x) { x.classList.remove("picked"); });
      td.classList.add("picked");
      const who = document.querySelector("#picked-who");
      if (who) {
        const q = new URLSearchParams(data.dataset.who.split("?")[1]);
        q.set("row", tr.dataset.id);
        q.set("field", td.dataset.field);
        who.href = "/who?" + q.toString();
        const th = data.querySelector('thead th[data-field="' + CSS.escape(td.dataset.field) + '"]');
        who.textContent = "谁改了" + tr.dataset.name + "「" + (th ? th.textContent : td.dataset.field) + "」";
        who.hidden = false;
      }
      const text = document.querySelector("#comment-text");
      if (text) text.focus();
    });
  }

  // Review: "添加到退回批注" copies the picked row, field and text into the return form's
  // comment lines (行:字段:内容, as on the command line).
  const add = document.querySelector("#comment-add");
  if (add) {
    add.addEventListener("click", function () {
      const row = document.querySelector("#comment-row").value;
      const field = document.querySelector("#comment-field").value;
      const text = document.querySelector("#comment-text").value.trim();
      const lines = document.querySelector("#return-comments");
      if (!text || !lines) return;
      const line = row + ":" + field + ":" + text;
      lines.value = lines.value.trim() ? lines.value.trim() + "\n" + line : line;
      document.querySelector("#comment-text").value = "";
    });
  }
});

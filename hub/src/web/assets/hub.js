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

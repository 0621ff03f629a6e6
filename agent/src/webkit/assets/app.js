// caiji: what every page's script needs. No framework, no network but this site.
"use strict";
window.caiji = (function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";

  // POST JSON to this site with the page's CSRF token; resolves to the parsed reply, or
  // rejects with an Error whose message is the server's Chinese message.
  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
    let data = null;
    try { data = await r.json(); } catch (_) { /* not JSON */ }
    if (!r.ok) {
      throw new Error((data && data.message) || ("请求失败（" + r.status + "），请检查网络后重试"));
    }
    return data;
  }

  async function get(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    let data = null;
    try { data = await r.json(); } catch (_) { /* not JSON */ }
    if (!r.ok) throw new Error((data && data.message) || ("请求失败（" + r.status + "）"));
    return data;
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Buttons and forms that ask first: data-confirm="确定要……吗？"
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.dataset.confirm)) e.preventDefault();
      });
    });
    // Selects that apply at once: data-autosubmit
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
    // A text box that filters a table's rows as one types: data-filter="#table-id"
    document.querySelectorAll("input[data-filter]").forEach(function (input) {
      const table = document.querySelector(input.dataset.filter);
      if (!table) return;
      input.addEventListener("input", function () {
        const q = input.value.trim().toLowerCase();
        table.querySelectorAll("tbody tr").forEach(function (tr) {
          tr.hidden = q !== "" && !tr.textContent.toLowerCase().includes(q);
        });
      });
    });
    // Print buttons: data-print
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  });

  return { csrf: csrf, post: post, get: get };
})();

// Progressive enhancement for the portal. Every page works without this file.
// Forms marked data-confirm ask before they are sent.
document.addEventListener("submit", function (ev) {
  var f = ev.target;
  if (f instanceof HTMLFormElement && f.dataset.confirm && !window.confirm(f.dataset.confirm)) {
    ev.preventDefault();
  }
});

// Secrets and commands shown once get a Copy button (the text stays selectable without it).
document.querySelectorAll("code[data-copy]").forEach(function (code) {
  if (!navigator.clipboard) return;
  var b = document.createElement("button");
  b.type = "button";
  b.textContent = "Copy";
  b.setAttribute("aria-label", "Copy " + (code.dataset.copy || "the text"));
  b.addEventListener("click", function () {
    navigator.clipboard.writeText(code.textContent.trim()).then(function () {
      b.textContent = "Copied";
    });
  });
  code.insertAdjacentElement("afterend", b);
});

// Shows each <time datetime> in the browser's time zone, naming the zone
// (without this script the pages show UTC, saying so), and makes the
// "tick every row" boxes work (hidden without it).
(function () {
  "use strict";
  var zone = "UTC";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return; }
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hour12: false, timeZoneName: "short"
  });
  function local() {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) { return; }
      el.title = el.textContent;
      el.textContent = fmt.format(d);
    });
    var z = document.getElementById("zone");
    if (z) { z.textContent = zone; }
    document.querySelectorAll("input[data-tick-all]").forEach(function (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        document.querySelectorAll("input[type=checkbox][name='" + all.dataset.tickAll + "']").forEach(function (box) {
          box.checked = all.checked;
        });
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", local); } else { local(); }
})();

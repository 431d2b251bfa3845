// Takedown Gateway console: local times, live clocks and confirmations. No framework, no build step.
"use strict";

(function () {
  const local = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  });

  // Each <time datetime> is written in the viewer's zone; the title keeps UTC.
  function localiseTimes() {
    for (const element of document.querySelectorAll("time[datetime]")) {
      const date = new Date(element.getAttribute("datetime"));
      if (!isNaN(date.getTime())) element.textContent = local.format(date);
    }
  }

  function span(seconds) {
    const minutes = Math.floor(seconds / 60);
    const days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    if (days > 0) return days + " d " + hours + " h";
    if (hours > 0) return hours + " h " + mins + " min";
    return mins + " min";
  }

  // Clocks count down to their deadline and turn overdue when it passes.
  function tick() {
    const now = Date.now();
    for (const clock of document.querySelectorAll(".clock[data-deadline]")) {
      const deadline = Date.parse(clock.dataset.deadline);
      if (isNaN(deadline)) continue;
      const left = (deadline - now) / 1000;
      clock.textContent = left < 0 ? "overdue by " + span(-left) : span(left) + " left";
      clock.classList.toggle("overdue", left < 0);
    }
  }

  // A button with data-confirm asks before its form is sent.
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    const question = button && button.dataset ? button.dataset.confirm : undefined;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    localiseTimes();
    tick();
    if (document.querySelector(".clock[data-deadline]")) window.setInterval(tick, 30000);
  });
})();

// The room works without this script (forms and links); it only wires the "listen again"
// buttons to their audio element.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-play]")) {
    const audio = document.getElementById(button.dataset.play);
    if (!audio) continue;
    button.addEventListener("click", () => {
      audio.currentTime = 0;
      audio.play();
    });
  }
});

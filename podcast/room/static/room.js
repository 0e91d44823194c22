// The room works without this script (forms and links); it only wires the "listen again"
// buttons to their audio element, and the "read aloud" buttons to their spoken phrase.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-play]")) {
    const audio = document.getElementById(button.dataset.play);
    if (!audio) continue;
    button.addEventListener("click", () => {
      audio.currentTime = 0;
      audio.play();
    });
  }
  let speaking = null;
  for (const button of document.querySelectorAll("[data-play-src]")) {
    button.addEventListener("click", () => {
      if (speaking) speaking.pause();
      speaking = new Audio(button.dataset.playSrc);
      speaking.play();
    });
  }
});

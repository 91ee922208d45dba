// The page probe of `cargo xtask book --browser` (crates/xtask/src/browser.rs evaluates it in
// every chapter, after the load event). It measures and reports; browser.rs decides what is a
// problem, so that its judgement is Rust code with unit tests.
(async () => {
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
  const content = document.querySelector('main') || document.body;

  // Let late things finish first, each wait bounded: images still loading (an image that
  // loads lazily would otherwise look broken), web fonts (they change the width of code), and
  // two frames, so that layout has caught up.
  const images = Array.from(document.images);
  const settled = img => img.complete ? null : new Promise(resolve => {
    img.addEventListener('load', resolve);
    img.addEventListener('error', resolve);
  });
  await Promise.race([Promise.all(images.map(settled)), sleep(5000)]);
  await Promise.race([document.fonts.ready, sleep(5000)]);
  await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));

  const size = element => {
    const box = element.getBoundingClientRect();
    return { width: Math.round(box.width), height: Math.round(box.height) };
  };

  // Every <img>: loaded (complete, a natural width) and drawn with a size. mdBook 0.5 writes
  // each image twice, the second copy inside `.checkbox-label .img-wrapper`: the zoomed view,
  // not displayed until the reader clicks the image. That copy must load, but has no size.
  const imageReports = images.map(img => ({
    what: `<img src="${img.getAttribute('src')}">`,
    loaded: img.complete && img.naturalWidth > 0,
    sized: !img.closest('.checkbox-label .img-wrapper'),
    ...size(img),
  }));
  // Every SVG in the text (outermost ones: a nested <svg> is part of its parent) and every
  // SVG embedded with <object> or <embed>. The theme's icons are outside <main>, except the
  // buttons mdBook adds to code blocks, which are icons of the theme too.
  const svgs = Array.from(content.querySelectorAll('svg'))
    .filter(svg => !svg.parentElement.closest('svg') && !svg.closest('pre .buttons, .fa-svg'))
    .map(svg => ({ what: `inline <svg> #${svg.id || '(no id)'}`, loaded: true, sized: true, ...size(svg) }));
  const embedded = Array.from(content.querySelectorAll('object, embed'))
    .filter(element => /\.svg($|[?#])/.test(element.getAttribute('data') || element.getAttribute('src') || ''))
    .map(element => ({
      what: `<${element.localName} ${element.getAttribute('data') ? 'data' : 'src'}="${element.getAttribute('data') || element.getAttribute('src')}">`,
      loaded: element.localName !== 'object' || !!(element.contentDocument && element.contentDocument.documentElement),
      sized: true,
      ...size(element),
    }));

  // Every code block in the text, in order, with the widest of its boxes (mdBook scrolls the
  // <code> inside the <pre>; either may overflow). `innerText` leaves out the lines mdBook
  // hides, so the first line is the one a reader sees.
  const listings = Array.from(content.querySelectorAll('pre')).map((pre, index) => {
    const boxes = [pre, ...pre.querySelectorAll(':scope > code')];
    const widest = boxes.reduce((a, b) =>
      b.scrollWidth - b.clientWidth > a.scrollWidth - a.clientWidth ? b : a);
    const firstLine = (pre.innerText.split('\n').find(line => line.trim() !== '') || '').trim();
    return { number: index + 1, firstLine, needs: widest.scrollWidth, has: widest.clientWidth };
  });

  // The width code has to be written in: the first code block's inner width, and the width of
  // one character of its font (monospace: a run of 100 zeros, divided by 100).
  let column = null;
  const code = content.querySelector('pre > code');
  if (code) {
    const style = getComputedStyle(code);
    const inner = code.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const ruler = document.createElement('span');
    ruler.textContent = '0'.repeat(100);
    code.appendChild(ruler);
    const character = ruler.getBoundingClientRect().width / 100;
    ruler.remove();
    column = { content: content.clientWidth, code: inner, character, font: style.fontFamily };
  }

  return {
    images: [...imageReports, ...svgs, ...embedded],
    listings,
    column,
    // Every link on the page, resolved by the browser itself, and every id and name a link's
    // #fragment can land on.
    links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
    targets: [
      ...Array.from(document.querySelectorAll('[id]'), element => element.id),
      ...Array.from(document.querySelectorAll('[name]'), element => element.getAttribute('name')),
    ],
  };
})()

//! `cargo xtask book --browser`: the built book, opened in a headless Chromium and checked as a
//! reader's browser shows it.
//!
//! The static checks in [`crate::book`] read the HTML mdBook writes; they cannot see what only a
//! browser knows: a script that throws, a figure that does not display, a code block wider than
//! the column, a search that finds nothing, a page wider than a phone. So the book is served
//! on 127.0.0.1 ([`serve`]: over HTTP, as it is published, rather than from `file://`), and a
//! headless Chromium, driven over its DevTools protocol ([`devtools`]), visits every chapter in
//! `SUMMARY.md` (not `print.html`, which repeats them all) at a desktop size, 1280x800, and
//! checks:
//!
//! - no console error, no uncaught exception, no failed load of a resource;
//! - every `<img>` and every SVG in the text has loaded and is drawn with a non-zero size;
//! - every link within the book leads to a file of the build, and its `#fragment` to an
//!   element with that id (or name) on the target page;
//! - no code block scrolls sideways (its content is wider than its box);
//!
//! then, once, that typing "waker" into mdBook's search bar finds something, and that chapter 1
//! is no wider than a phone (375x812, device scale 2, mobile emulation).
//!
//! The browser measures (`browser/probe.js`) and this file judges, so the judgement has unit
//! tests that need no browser. Every wait has a limit: a page that never loads is a problem line,
//! not a hang. Chromium is killed when the check ends, also when it panics.

mod devtools;
mod serve;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::book::Problem;
use devtools::{Chromium, DevTools};
use serve::StaticServer;

/// What to run when no Chromium is found (Debian and Ubuntu; `sudo` unless root).
pub const INSTALL: &str = "sudo apt-get update && sudo apt-get install -y chromium";

/// The chapter checked at a phone's width: the first one a reader opens.
pub const PHONE_PAGE: &str = "why-async.html";

/// The word the search must find.
const SEARCH_WORD: &str = "waker";

/// The desktop viewport, in CSS pixels.
const DESKTOP: (u32, u32) = (1280, 800);
/// The phone viewport, in CSS pixels, and its device scale.
const PHONE: (u32, u32, u32) = (375, 812, 2);

/// How long a single DevTools command may take.
const COMMAND: Duration = Duration::from_secs(30);
/// How long a page may take to load.
const LOAD: Duration = Duration::from_secs(30);

/// The measurements `probe.js` takes of a page.
const PROBE: &str = include_str!("browser/probe.js");

/// The Chromium to use: `$ROSETTA_CHROMIUM` if set, else the first of `chromium`,
/// `chromium-browser` and `google-chrome` on the `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ROSETTA_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The HTML page of every chapter `SUMMARY.md` (in `book_dir/src`) lists, in order, relative to
/// the build directory: `a/b.md` is built as `a/b.html` (a `README.md` as `index.html`).
pub fn chapter_pages(book_dir: &Path) -> anyhow::Result<Vec<String>> {
    let summary_path = book_dir.join("src/SUMMARY.md");
    let summary = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("cannot read {}", summary_path.display()))?;
    Ok(crate::book::summary_links(&summary)?
        .into_iter()
        .map(|link| {
            let target = link.target.trim_start_matches("./");
            let stem = target.strip_suffix(".md").unwrap_or(target);
            match stem.strip_suffix("README") {
                Some(folder) => format!("{folder}index.html"),
                None => format!("{stem}.html"),
            }
        })
        .collect())
}

/// The outcome of a browser check.
#[derive(Debug)]
pub struct Report {
    /// One line each, in the order found (chapters in `SUMMARY.md`'s order).
    pub problems: Vec<Problem>,
    /// Chapters visited.
    pub pages: usize,
    /// The whole check: starting the browser, every page, stopping it.
    pub elapsed: Duration,
    /// The browser's name and version.
    pub browser: String,
    /// Code blocks in the chapters, and how many of them overflow at the desktop width.
    pub listings: usize,
    /// See `listings`.
    pub overflowing: usize,
    /// The width code is written in, measured in the first chapter with a code block.
    pub column: Option<Column>,
}

/// The room a code block has at the desktop width.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The text column (`<main>`), in CSS pixels.
    pub content_px: f64,
    /// The inside of a code block (the column less the block's padding), in CSS pixels.
    pub code_px: f64,
    /// The width of one character of the code font, in CSS pixels.
    pub character_px: f64,
    /// The code font, as CSS names it.
    pub font: String,
}

impl Column {
    /// How many characters of the code font fit on one line of a code block.
    pub fn characters(&self) -> u64 {
        if self.character_px > 0.0 {
            (self.code_px / self.character_px).floor() as u64
        } else {
            0
        }
    }
}

impl Report {
    /// The summary line: pages, time, problems, and the room code has.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} pages checked in {:.1} s with {}: {} problem{}; {} of {} code blocks overflow \
             at {}x{}",
            self.pages,
            self.elapsed.as_secs_f64(),
            self.browser,
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" },
            self.overflowing,
            self.listings,
            DESKTOP.0,
            DESKTOP.1,
        );
        if let Some(column) = &self.column {
            line.push_str(&format!(
                "; a code block has {:.0} px ({} characters of {} at {:.2} px) in a {:.0} px \
                 text column",
                column.code_px,
                column.characters(),
                column.font,
                column.character_px,
                column.content_px,
            ));
        }
        line
    }
}

/// Serves `site` (a built book) on 127.0.0.1, opens `pages` (relative to it) in the Chromium
/// `binary`, and checks them, `phone_page` (one of them) also at a phone's size. An `Err` means
/// the check itself could not run (no browser, no connection); what is wrong with the book is
/// in the report's problems.
pub fn check(
    binary: &Path,
    site: &Path,
    pages: &[String],
    phone_page: &str,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let server = StaticServer::start(site).context("cannot serve the book on 127.0.0.1")?;
    let origin = server.origin();
    let chromium = Chromium::launch(binary, Duration::from_secs(30))?;
    let mut devtools = DevTools::connect(&chromium.url, Duration::from_secs(10))?;
    let browser = devtools.call(None, "Browser.getVersion", json!({}), COMMAND)?["product"]
        .as_str()
        .unwrap_or("Chromium")
        .to_string();
    let target = devtools.call(
        None,
        "Target.createTarget",
        json!({"url": "about:blank"}),
        COMMAND,
    )?;
    let attached = devtools.call(
        None,
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
        COMMAND,
    )?;
    let session = attached["sessionId"]
        .as_str()
        .context("Target.attachToTarget gave no sessionId")?
        .to_string();
    let mut tab = Tab {
        devtools,
        session,
        origin: origin.clone(),
        problems: Vec::new(),
        previous: None,
    };
    for domain in ["Page", "Runtime", "Log"] {
        tab.call(&format!("{domain}.enable"), json!({}))?;
    }
    tab.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": DESKTOP.0, "height": DESKTOP.1, "deviceScaleFactor": 1, "mobile": false}),
    )?;

    // Every chapter at the desktop size.
    let mut links = Vec::new();
    let mut targets: HashMap<String, BTreeSet<String>> = HashMap::new();
    let (mut listings, mut overflowing, mut column) = (0, 0, None);
    for page in pages {
        let Some(probe) = tab.open(page, Some(PROBE))? else {
            continue;
        };
        tab.problems.extend(image_problems(page, &probe["images"]));
        let page_listings = parse_listings(&probe["listings"]);
        listings += page_listings.len();
        let offenders = listing_problems(page, &page_listings);
        overflowing += offenders.len();
        tab.problems.extend(offenders);
        if column.is_none() {
            column = parse_column(&probe["column"]);
        }
        for href in probe["links"].as_array().into_iter().flatten() {
            if let Some(href) = href.as_str() {
                links.push((page.clone(), href.to_string()));
            }
        }
        targets.insert(
            format!("/{page}"),
            probe["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|id| id.as_str().map(str::to_string))
                .collect(),
        );
    }
    tab.problems
        .extend(link_problems(site, &origin, &links, &targets));

    // The search, as a reader uses it: click the button, type, wait for results.
    if let Some(first) = pages.first() {
        search(&mut tab, first)?;
    }

    // Chapter 1 on a phone.
    tab.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": PHONE.0, "height": PHONE.1, "deviceScaleFactor": PHONE.2, "mobile": true}),
    )?;
    tab.call(
        "Emulation.setTouchEmulationEnabled",
        json!({"enabled": true}),
    )?;
    let phone_place = format!("{phone_page} at {}x{}", PHONE.0, PHONE.1);
    if !pages.iter().any(|page| page == phone_page) {
        tab.problems.push(Problem {
            place: phone_page.into(),
            what: "is not a chapter of the book, so the phone check has nothing to open".into(),
        });
    } else if let Some(width) = tab.open(phone_page, Some(PHONE_PROBE))? {
        tab.problems.extend(phone_problems(&phone_place, &width));
    }
    tab.settle_console()?;

    let Tab { problems, .. } = tab;
    // The browser and the server stop here, before the time is taken.
    drop(chromium);
    drop(server);
    // In the order found: page by page as SUMMARY.md lists them, listings in page order. A
    // page that links to the same missing place twice says so once.
    let mut seen = BTreeSet::new();
    let problems = problems
        .into_iter()
        .filter(|problem| seen.insert(problem.clone()))
        .collect();
    Ok(Report {
        problems,
        pages: pages.len(),
        elapsed: started.elapsed(),
        browser,
        listings,
        overflowing,
        column,
    })
}

/// Measures the page's width against the screen's, and finds every box that scrolls sideways
/// although it is not meant to. mdBook's `body` hides horizontal overflow, and its text column
/// (`#mdbook-content`) scrolls in both directions: a paragraph wider than the phone does not
/// widen the page (`scrollWidth` stays the screen's), the whole text column scrolls sideways
/// instead. Boxes made to scroll sideways are left out: code blocks (the desktop check judges
/// them) and mdBook's table wrappers. For each box that does, the outermost elements sticking
/// out of it are named (at most three).
const PHONE_PROBE: &str = r"(() => {
  const designed = e => e.matches('pre, pre > code, .table-wrapper') ||
    e.closest('pre, .table-wrapper') !== null;
  const name = e => e.localName + (e.id ? '#' + e.id : '') +
    (typeof e.className === 'string' && e.className.trim() ?
      '.' + e.className.trim().split(/\s+/).join('.') : '');
  const scrollers = Array.from(document.querySelectorAll('body *')).filter(e =>
    !designed(e) && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) &&
    e.scrollWidth > e.clientWidth + 1 && e.checkVisibility());
  const sideways = scrollers.map(scroller => {
    const edge = scroller.getBoundingClientRect().left + scroller.clientWidth + 1;
    const out = e => e.getBoundingClientRect().right > edge;
    const wide = Array.from(scroller.querySelectorAll('*'))
      .filter(e => out(e) && !(e.parentElement !== scroller && out(e.parentElement)))
      .slice(0, 3).map(name);
    return { element: name(scroller), needs: scroller.scrollWidth, has: scroller.clientWidth, wide };
  });
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth, sideways };
})()";

/// The one tab the check drives, and the problems found so far.
struct Tab {
    devtools: DevTools,
    session: String,
    origin: String,
    problems: Vec<Problem>,
    /// The page opened last: console messages that arrive late are its.
    previous: Option<String>,
}

impl Tab {
    fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.devtools
            .call(Some(&self.session), method, params, COMMAND)
    }

    /// Files the console errors received so far under the page opened last.
    fn settle_console(&mut self) -> anyhow::Result<()> {
        // A round trip, so that everything the page logged before it is in.
        self.call("Runtime.evaluate", json!({"expression": "0"}))?;
        let events = self.devtools.take_events();
        if let Some(page) = &self.previous {
            self.problems.extend(console_problems(page, &events));
        }
        Ok(())
    }

    /// Opens `page` and waits for its load event; then evaluates `probe` (a script whose value
    /// may be a promise) and returns its value. A page that does not load, or a probe that
    /// throws, is a problem and gives `None`.
    fn open(&mut self, page: &str, probe: Option<&str>) -> anyhow::Result<Option<Value>> {
        self.settle_console()?;
        self.previous = Some(page.to_string());
        let problem = |what: String| Problem {
            place: page.to_string(),
            what,
        };
        let url = format!("{}/{page}", self.origin);
        let navigated = self.call("Page.navigate", json!({"url": url}))?;
        if let Some(error) = navigated["errorText"].as_str().filter(|e| !e.is_empty()) {
            self.problems
                .push(problem(format!("did not load: {error}")));
            return Ok(None);
        }
        if self
            .devtools
            .wait_for_event(&self.session, "Page.loadEventFired", LOAD)
            .is_err()
        {
            self.problems.push(problem(format!(
                "did not finish loading within {} s",
                LOAD.as_secs()
            )));
            return Ok(None);
        }
        let Some(probe) = probe else {
            return Ok(Some(Value::Null));
        };
        let evaluated = self.call(
            "Runtime.evaluate",
            json!({"expression": probe, "awaitPromise": true, "returnByValue": true}),
        )?;
        if let Some(details) = evaluated.get("exceptionDetails") {
            self.problems.push(problem(format!(
                "the check's probe failed on this page: {}",
                exception_text(details)
            )));
            return Ok(None);
        }
        Ok(Some(evaluated["result"]["value"].clone()))
    }

    /// The value of `expression` in the page.
    fn evaluate(&mut self, expression: &str) -> anyhow::Result<Value> {
        let evaluated = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        )?;
        Ok(evaluated["result"]["value"].clone())
    }

    /// Polls `expression` every 100 ms until it is true, at most `limit` times.
    fn wait_until(&mut self, expression: &str, limit: u32) -> anyhow::Result<bool> {
        for _ in 0..limit {
            if self.evaluate(expression)? == Value::Bool(true) {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(false)
    }
}

/// Opens `page`, clicks mdBook's search button, types [`SEARCH_WORD`] key by key (mdBook searches
/// on `keyup`), and waits at most 10 s for the search's answer: at least one result.
fn search(tab: &mut Tab, page: &str) -> anyhow::Result<()> {
    let place = format!("{page}: search");
    let fail = |tab: &mut Tab, what: String| {
        tab.problems.push(Problem {
            place: place.clone(),
            what,
        })
    };
    if tab.open(page, None)?.is_none() {
        return Ok(());
    }
    let button = tab.evaluate(
        "(() => { const b = document.getElementById('mdbook-search-toggle'); if (!b) return null; \
         const r = b.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()",
    )?;
    if button.is_null() {
        fail(
            tab,
            "the page has no search button (#mdbook-search-toggle)".into(),
        );
        return Ok(());
    }
    for kind in ["mousePressed", "mouseReleased"] {
        tab.call(
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": button["x"], "y": button["y"], "button": "left", "clickCount": 1}),
        )?;
    }
    let open =
        "document.activeElement !== null && document.activeElement.id === 'mdbook-searchbar'";
    if !tab.wait_until(open, 50)? {
        fail(
            tab,
            "clicking the search button did not open and focus the search bar".into(),
        );
        return Ok(());
    }
    for key in SEARCH_WORD.chars().map(String::from) {
        tab.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyDown", "key": key, "text": key}),
        )?;
        tab.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key}),
        )?;
    }
    // The search has answered when it lists a result, or says in its header that it found
    // none (then there is no point waiting longer).
    let results = "document.querySelectorAll('#mdbook-searchresults li').length";
    let header = "(document.getElementById('mdbook-searchresults-header') || {}).textContent || ''";
    let answered = format!("{results} > 0 || ({header}).trim() !== ''");
    let answered = tab.wait_until(&answered, 100)?;
    if tab.evaluate(results)?.as_u64().unwrap_or(0) == 0 {
        let header = tab.evaluate(header)?;
        fail(
            tab,
            if answered {
                format!(
                    "typing `{SEARCH_WORD}` found nothing (the results say: {:?})",
                    header.as_str().unwrap_or("")
                )
            } else {
                format!("typing `{SEARCH_WORD}` gave no answer within 10 s")
            },
        );
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------------
// Judgement: what the browser measured, turned into problem lines. No browser needed.

/// The text of a DevTools `exceptionDetails`: the exception's description when it has one.
fn exception_text(details: &Value) -> String {
    let text = details["exception"]["description"]
        .as_str()
        .or(details["text"].as_str())
        .unwrap_or("an exception");
    let first = text.lines().next().unwrap_or(text);
    match details["url"].as_str().filter(|url| !url.is_empty()) {
        Some(url) => format!(
            "{first} ({url}:{})",
            details["lineNumber"].as_u64().unwrap_or(0) + 1
        ),
        None => first.to_string(),
    }
}

/// One problem per console error, uncaught exception and error the browser logged (a resource
/// that failed to load is one) among `events`.
fn console_problems(page: &str, events: &[Value]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for event in events {
        let params = &event["params"];
        let what = match event["method"].as_str() {
            Some("Runtime.consoleAPICalled")
                if matches!(params["type"].as_str(), Some("error" | "assert")) =>
            {
                let words: Vec<String> = params["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|arg| match &arg["value"] {
                        Value::String(text) => text.clone(),
                        Value::Null => arg["description"].as_str().unwrap_or("").to_string(),
                        other => other.to_string(),
                    })
                    .collect();
                format!(
                    "console.{}: {}",
                    params["type"].as_str().unwrap_or("error"),
                    words.join(" ")
                )
            }
            Some("Runtime.exceptionThrown") => {
                format!(
                    "uncaught exception: {}",
                    exception_text(&params["exceptionDetails"])
                )
            }
            Some("Log.entryAdded") if params["entry"]["level"].as_str() == Some("error") => {
                let entry = &params["entry"];
                let text = entry["text"].as_str().unwrap_or("");
                match entry["url"].as_str().filter(|url| !url.is_empty()) {
                    Some(url) => format!("browser error: {text} ({url})"),
                    None => format!("browser error: {text}"),
                }
            }
            _ => continue,
        };
        problems.push(Problem {
            place: page.to_string(),
            what,
        });
    }
    problems
}

/// One problem per image or SVG that did not load or has no size (`probe.js` reports each as
/// `{what, loaded, sized, width, height}`; `sized: false` marks an image not meant to be
/// displayed yet, mdBook's zoomed copy of a figure, which must load but has no size).
fn image_problems(page: &str, images: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    for image in images.as_array().into_iter().flatten() {
        let what = image["what"].as_str().unwrap_or("an image");
        let (width, height) = (
            image["width"].as_f64().unwrap_or(0.0),
            image["height"].as_f64().unwrap_or(0.0),
        );
        let problem = if image["loaded"] != Value::Bool(true) {
            format!("{what} did not load")
        } else if image["sized"] != Value::Bool(false) && (width <= 0.0 || height <= 0.0) {
            format!("{what} is drawn {width}x{height} px: it has no size")
        } else {
            continue;
        };
        problems.push(Problem {
            place: page.to_string(),
            what: problem,
        });
    }
    problems
}

/// A code block as `probe.js` measures it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listing {
    /// Its place among the page's code blocks, from 1.
    number: u64,
    /// Its first line a reader sees.
    first_line: String,
    /// The width its content needs (`scrollWidth`), in CSS pixels.
    needs: u64,
    /// The width it has (`clientWidth`), in CSS pixels.
    has: u64,
}

fn parse_listings(listings: &Value) -> Vec<Listing> {
    listings
        .as_array()
        .into_iter()
        .flatten()
        .map(|listing| Listing {
            number: listing["number"].as_u64().unwrap_or(0),
            first_line: listing["firstLine"].as_str().unwrap_or("").to_string(),
            needs: listing["needs"].as_u64().unwrap_or(0),
            has: listing["has"].as_u64().unwrap_or(0),
        })
        .collect()
}

fn parse_column(column: &Value) -> Option<Column> {
    Some(Column {
        content_px: column["content"].as_f64()?,
        code_px: column["code"].as_f64()?,
        character_px: column["character"].as_f64()?,
        font: column["font"].as_str().unwrap_or("").to_string(),
    })
}

/// One problem per code block whose content is wider than its box (by more than one pixel, the
/// rounding of `scrollWidth`), in the words the person fixing it needs: which block, how it
/// starts, how much room it needs and has.
fn listing_problems(page: &str, listings: &[Listing]) -> Vec<Problem> {
    listings
        .iter()
        .filter(|listing| listing.needs > listing.has + 1)
        .map(|listing| {
            let mut first: String = listing.first_line.chars().take(60).collect();
            if listing.first_line.chars().count() > 60 {
                first.push('…');
            }
            Problem {
                place: page.to_string(),
                what: format!(
                    "listing {} (first line `{first}`): needs {} px, has {} px",
                    listing.number, listing.needs, listing.has
                ),
            }
        })
        .collect()
}

/// The problems of a page wider than the phone's screen (`scrollWidth` over `innerWidth`), and
/// of each box in it that scrolls sideways although it is not made to.
fn phone_problems(place: &str, measured: &Value) -> Vec<Problem> {
    let (Some(scroll), Some(screen)) = (
        measured["scrollWidth"].as_u64(),
        measured["innerWidth"].as_u64(),
    ) else {
        return vec![Problem {
            place: place.to_string(),
            what: format!("the phone probe measured nothing: {measured}"),
        }];
    };
    let mut problems = Vec::new();
    if scroll > screen {
        problems.push(Problem {
            place: place.to_string(),
            what: format!("the page is {scroll} px wide on a {screen} px screen"),
        });
    }
    for scroller in measured["sideways"].as_array().into_iter().flatten() {
        let wide: Vec<&str> = scroller["wide"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        problems.push(Problem {
            place: place.to_string(),
            what: format!(
                "`{}` scrolls sideways: needs {} px, has {} px (too wide: {})",
                scroller["element"].as_str().unwrap_or("?"),
                scroller["needs"].as_u64().unwrap_or(0),
                scroller["has"].as_u64().unwrap_or(0),
                if wide.is_empty() {
                    "?".to_string()
                } else {
                    wide.join(", ")
                }
            ),
        });
    }
    problems
}

/// Where a link the browser resolved (`href`) leads within the site at `origin`: the path
/// (`/a/b.html`, percent-decoded, without query) and the fragment (decoded), or `None` if it
/// leads elsewhere.
fn internal_target(href: &str, origin: &str) -> Option<(String, Option<String>)> {
    let rest = href.strip_prefix(origin)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None; // `http://127.0.0.1:80` against origin `http://127.0.0.1:8`
    }
    let (path, fragment) = match rest.split_once('#') {
        Some((path, fragment)) => (path, Some(crate::book::percent_decode(fragment))),
        None => (rest, None),
    };
    let path = path.split('?').next().unwrap_or("");
    let path = if path.is_empty() { "/" } else { path };
    Some((
        crate::book::percent_decode(path),
        fragment.filter(|f| !f.is_empty()),
    ))
}

/// One problem per link (`(page, href)`) within the book that leads to no file of `site`, or
/// to a page without the element its fragment names. `targets` holds the ids and names of the
/// pages the browser visited (keyed `/page.html`); another page's are read from its file.
fn link_problems(
    site: &Path,
    origin: &str,
    links: &[(String, String)],
    targets: &HashMap<String, BTreeSet<String>>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut read: HashMap<PathBuf, BTreeSet<String>> = HashMap::new();
    for (page, href) in links {
        let Some((path, fragment)) = internal_target(href, origin) else {
            continue;
        };
        let shown = href.strip_prefix(origin).unwrap_or(href);
        // `path` is decoded already: look it up as it is.
        let Some(file) = serve::file_at(site, &path) else {
            problems.push(Problem {
                place: page.clone(),
                what: format!("links to `{shown}`, which is not a file of the book"),
            });
            continue;
        };
        let Some(fragment) = fragment else { continue };
        if file.extension().is_none_or(|ext| ext != "html") {
            continue;
        }
        let relative = format!("/{}", file.strip_prefix(site).unwrap_or(&file).display());
        let ids = match targets.get(&relative) {
            Some(ids) => ids,
            None => read.entry(file.clone()).or_insert_with(|| {
                let html = std::fs::read_to_string(&file).unwrap_or_default();
                ["id", "name"]
                    .iter()
                    .flat_map(|attribute| crate::book::attribute_values(&html, attribute))
                    .map(str::to_string)
                    .collect()
            }),
        };
        if !ids.contains(&fragment) {
            problems.push(Problem {
                place: page.clone(),
                what: format!(
                    "links to `{shown}`, but {} has no element with id or name `{fragment}`",
                    relative.trim_start_matches('/')
                ),
            });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chapters_are_the_summarys_pages_in_order() {
        let pages = chapter_pages(&crate::tidy::workspace_root().join("book")).unwrap();
        assert_eq!(pages.first().map(String::as_str), Some("preface.html"));
        assert!(pages.iter().any(|page| page == PHONE_PAGE));
        assert!(!pages.iter().any(|page| page == "print.html"));
    }

    #[test]
    fn overflowing_listings_are_named_with_their_first_line_and_sizes() {
        let listings = parse_listings(&json!([
            {"number": 1, "firstLine": "fn fits() {}", "needs": 600, "has": 600},
            // One pixel over is the rounding of scrollWidth, not an overflow.
            {"number": 2, "firstLine": "fn rounds() {}", "needs": 601, "has": 600},
            {"number": 3, "firstLine": "pub fn fetch_with_retry(source: &Source) -> FetchSummary {",
             "needs": 742, "has": 686},
            {"number": 4, "firstLine": "x".repeat(70), "needs": 700, "has": 686},
        ]));
        let lines: Vec<String> = listing_problems("threads.html", &listings)
            .iter()
            .map(Problem::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "threads.html: listing 3 (first line `pub fn fetch_with_retry(source: &Source) \
                 -> FetchSummary {`): needs 742 px, has 686 px",
                &format!(
                    "threads.html: listing 4 (first line `{}…`): needs 700 px, has 686 px",
                    "x".repeat(60)
                ),
            ]
        );
    }

    #[test]
    fn console_errors_exceptions_and_failed_loads_are_problems_and_the_rest_is_not() {
        let events = [
            json!({"method": "Runtime.consoleAPICalled", "params": {"type": "log",
                   "args": [{"type": "string", "value": "hello"}]}}),
            json!({"method": "Runtime.consoleAPICalled", "params": {"type": "error",
                   "args": [{"type": "string", "value": "broken:"}, {"type": "number", "value": 42}]}}),
            json!({"method": "Runtime.exceptionThrown", "params": {"exceptionDetails": {
                   "text": "Uncaught", "url": "http://127.0.0.1:1/book.js", "lineNumber": 9,
                   "exception": {"description": "TypeError: x is null\n    at f (book.js:10)"}}}}),
            json!({"method": "Log.entryAdded", "params": {"entry": {"level": "error",
                   "source": "network", "url": "http://127.0.0.1:1/figures/gone.svg",
                   "text": "Failed to load resource: the server responded with a status of 404 (Not Found)"}}}),
            json!({"method": "Log.entryAdded", "params": {"entry": {"level": "warning", "text": "meh"}}}),
            json!({"method": "Page.loadEventFired", "params": {}}),
        ];
        let lines: Vec<String> = console_problems("pipeline.html", &events)
            .iter()
            .map(Problem::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "pipeline.html: console.error: broken: 42",
                "pipeline.html: uncaught exception: TypeError: x is null \
                 (http://127.0.0.1:1/book.js:10)",
                "pipeline.html: browser error: Failed to load resource: the server responded \
                 with a status of 404 (Not Found) (http://127.0.0.1:1/figures/gone.svg)",
            ]
        );
    }

    #[test]
    fn images_without_a_load_or_a_size_are_problems() {
        let images = json!([
            {"what": "<img src=\"figures/a.svg\">", "loaded": true, "width": 640, "height": 200},
            {"what": "<img src=\"figures/gone.svg\">", "loaded": false, "width": 0, "height": 0},
            {"what": "inline <svg> #plot", "loaded": true, "width": 640, "height": 0},
            {"what": "<img src=\"figures/a.svg\"> (zoomed)", "loaded": true, "sized": false,
             "width": 0, "height": 0},
            {"what": "<img src=\"figures/b.svg\"> (zoomed)", "loaded": false, "sized": false,
             "width": 0, "height": 0},
        ]);
        let lines: Vec<String> = image_problems("runtimes.html", &images)
            .iter()
            .map(Problem::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "runtimes.html: <img src=\"figures/gone.svg\"> did not load",
                "runtimes.html: inline <svg> #plot is drawn 640x0 px: it has no size",
                "runtimes.html: <img src=\"figures/b.svg\"> (zoomed) did not load",
            ]
        );
    }

    #[test]
    fn links_resolve_to_files_and_fragments_to_ids() {
        let origin = "http://127.0.0.1:4000";
        assert_eq!(
            internal_target(
                "http://127.0.0.1:4000/a/G%C3%B6teborg.html?x=1#St%C3%A4dte",
                origin
            ),
            Some(("/a/Göteborg.html".into(), Some("Städte".into())))
        );
        assert_eq!(
            internal_target("http://127.0.0.1:4000/#", origin),
            Some(("/".into(), None))
        );
        assert_eq!(
            internal_target("http://127.0.0.1:40000/x.html", origin),
            None
        );
        assert_eq!(internal_target("https://github.com/x", origin), None);
        assert_eq!(internal_target("mailto:someone@example.com", origin), None);

        let site = std::env::temp_dir().join(format!("rosetta-links-{}", std::process::id()));
        std::fs::create_dir_all(site.join("figures")).unwrap();
        std::fs::write(site.join("index.html"), "").unwrap();
        std::fs::write(site.join("a.html"), "").unwrap();
        // Not visited: its ids come from its file.
        std::fs::write(
            site.join("b.html"),
            "<h2 id=\"static\"></h2><a name=\"old\"></a>",
        )
        .unwrap();
        std::fs::write(site.join("figures/f.svg"), "<svg/>").unwrap();
        let visited = HashMap::from([(
            "/a.html".to_string(),
            BTreeSet::from(["made-by-script".to_string()]),
        )]);
        let link = |href: &str| ("index.html".to_string(), format!("{origin}{href}"));
        let links = [
            link("/a.html#made-by-script"),
            link("/a.html#gone"),
            link("/b.html#static"),
            link("/b.html#old"),
            link("/b.html#nope"),
            link("/figures/f.svg#anything"),
            link("/figures/"),
            link("/missing.html"),
            link("/"),
            ("index.html".to_string(), "https://example.com/".to_string()),
        ];
        let lines: Vec<String> = link_problems(&site, origin, &links, &visited)
            .iter()
            .map(Problem::to_string)
            .collect();
        let _ = std::fs::remove_dir_all(&site);
        assert_eq!(
            lines,
            [
                "index.html: links to `/a.html#gone`, but a.html has no element with id or name \
                 `gone`",
                "index.html: links to `/b.html#nope`, but b.html has no element with id or name \
                 `nope`",
                "index.html: links to `/figures/`, which is not a file of the book",
                "index.html: links to `/missing.html`, which is not a file of the book",
            ]
        );
    }

    #[test]
    fn a_page_wider_than_the_phone_names_what_sticks_out() {
        let place = "why-async.html at 375x812";
        let fits = json!({"scrollWidth": 375, "innerWidth": 375, "sideways": []});
        assert_eq!(phone_problems(place, &fits), []);
        let lines = |measured: Value| -> Vec<String> {
            phone_problems(place, &measured)
                .iter()
                .map(Problem::to_string)
                .collect()
        };
        assert_eq!(
            lines(json!({"scrollWidth": 512, "innerWidth": 375, "sideways": []})),
            ["why-async.html at 375x812: the page is 512 px wide on a 375 px screen"]
        );
        // mdBook's case: the page keeps the screen's width, its text column scrolls sideways.
        assert_eq!(
            lines(json!({"scrollWidth": 375, "innerWidth": 375, "sideways": [
                {"element": "div#mdbook-content.content", "needs": 605, "has": 345,
                 "wide": ["p", "table"]}]})),
            [
                "why-async.html at 375x812: `div#mdbook-content.content` scrolls sideways: \
                 needs 605 px, has 345 px (too wide: p, table)"
            ]
        );
    }

    #[test]
    fn the_summary_says_what_was_checked_and_how_much_room_code_has() {
        let report = Report {
            problems: Vec::new(),
            pages: 23,
            elapsed: Duration::from_millis(12_340),
            browser: "Chrome/156.0".into(),
            listings: 300,
            overflowing: 0,
            column: Some(Column {
                content_px: 750.0,
                code_px: 710.0,
                character_px: 8.4,
                font: "\"Source Code Pro\", monospace".into(),
            }),
        };
        assert_eq!(
            report.summary(),
            "23 pages checked in 12.3 s with Chrome/156.0: 0 problems; 0 of 300 code blocks \
             overflow at 1280x800; a code block has 710 px (84 characters of \"Source Code Pro\", \
             monospace at 8.40 px) in a 750 px text column"
        );
    }

    /// The Chromium to test with. Without one, a browser test cannot run: it says so in one line
    /// on stderr (written past the test harness's capture, so that a passing run shows it too,
    /// once) and passes, except where `CI` is set: there it fails, so that CI can never pass
    /// without the browser check.
    fn chromium_or_say_why_not() -> Option<PathBuf> {
        static SAID: std::sync::Once = std::sync::Once::new();
        let chromium = find_chromium();
        if chromium.is_none() {
            SAID.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "the browser check did not run: no Chromium found (install it: `{INSTALL}`, \
                     or set ROSETTA_CHROMIUM)"
                );
            });
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set, and there the browser check must run: install Chromium (`{INSTALL}`)"
            );
        }
        chromium
    }

    /// The real book in a real browser (see `chromium_or_say_why_not` for a machine without one).
    #[test]
    fn the_book_passes_in_a_real_browser() {
        let Some(chromium) = chromium_or_say_why_not() else {
            return;
        };
        let root = crate::tidy::workspace_root();
        let index = crate::book::the_built_book()
            .as_ref()
            .unwrap_or_else(|problems| panic!("the book did not build: {problems:?}"));
        let site = index.parent().expect("index.html is in the built book");
        let pages = chapter_pages(&root.join("book")).unwrap();
        let report =
            check(&chromium, site, &pages, PHONE_PAGE).expect("the browser check could not run");
        eprintln!("browser: {}", report.summary());
        let lines: Vec<String> = report.problems.iter().map(Problem::to_string).collect();
        assert!(
            lines.is_empty(),
            "the book has problems in a browser:\n{}\n{}",
            lines.join("\n"),
            report.summary()
        );
    }

    /// The check is not green by accident: a small book, broken on purpose in every way the
    /// check looks for, fails each of them, with the lines a reader of the output needs.
    #[test]
    fn a_book_broken_in_every_way_fails_every_check() {
        let Some(chromium) = chromium_or_say_why_not() else {
            return;
        };
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/book-sound/book");
        let dest =
            std::env::temp_dir().join(format!("rosetta-browser-broken-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dest);
        crate::book::build(&fixture, &dest).unwrap();
        // The breakage, added to the built page: mdBook would refuse some of it in Markdown.
        let page = dest.join("chapter.html");
        let html = std::fs::read_to_string(&page).unwrap();
        let broken = format!(
            "<p><img src=\"figures/gone.svg\" alt=\"missing figure\"></p>\
             <p><a href=\"chapter.html#nowhere\">a lost heading</a> <a href=\"gone.html\">a lost page</a></p>\
             <pre><code class=\"language-text\">{}</code></pre>\
             <p style=\"width: 600px\">a paragraph wider than a phone</p>\
             <script>console.error('deliberately broken');</script>\
             <script>null.boom();</script></main>",
            "x".repeat(200)
        );
        std::fs::write(&page, html.replacen("</main>", &broken, 1)).unwrap();
        let report = check(
            &chromium,
            &dest,
            &["chapter.html".to_string()],
            "chapter.html",
        );
        let _ = std::fs::remove_dir_all(&dest);
        let report = report.expect("the browser check could not run");
        let lines: Vec<String> = report.problems.iter().map(Problem::to_string).collect();
        let expected = [
            "chapter.html: <img src=\"figures/gone.svg\"> did not load",
            "chapter.html: links to `/chapter.html#nowhere`, but chapter.html has no element with \
             id or name `nowhere`",
            "chapter.html: links to `/gone.html`, which is not a file of the book",
            "chapter.html: listing 3 (first line `xxxxxxxxxx",
            "chapter.html: console.error: deliberately broken",
            "chapter.html: uncaught exception: TypeError: Cannot read properties of null",
            "chapter.html: browser error: Failed to load resource: the server responded with a \
             status of 404 (Not Found) (http://127.0.0.1:",
            "chapter.html: search: typing `waker` found nothing (the results say: \"No search results",
            "chapter.html at 375x812: `div#mdbook-content.content` scrolls sideways: needs ",
        ];
        for start in expected {
            assert!(
                lines.iter().any(|line| line.starts_with(start)),
                "no problem starts with {start:?}; the problems:\n{}",
                lines.join("\n")
            );
        }
        assert_eq!(report.pages, 1);
        assert_eq!((report.listings, report.overflowing), (3, 1), "{lines:#?}");
    }
}

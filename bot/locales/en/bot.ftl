# LogoForge bot: English. Every key here has its twin in ../ru/bot.ftl (tests/bot/test_i18n.py checks).
# Prompts and the words the hint buttons put into them stay English in every language: the model's text
# encoder learnt English captions.

## Commands menu

command-new = build a prompt step by step
command-settings = images, size, steps, guidance, seed, scheduler, language
command-history = your earlier logos
command-best = the best-rated logos
command-help = what I can do

## /start, /help, /cancel

help =
    I draw logos from a description. 🎨

    Send any text and I draw it with your settings, e.g.
      a logo of a fox, white background, orange foreground, minimalism, modern
    I understand English descriptions best.

    /new – build a prompt step by step
    /settings – images, size, steps, guidance, seed, scheduler, language (also: /set steps 20)
    /history – your earlier logos; open one to edit and draw again
    /best – the best-rated logos, everyone's and yours
    /cancel – leave the current dialog
    /help – this message
start = Hi! { help }
cancelled = Cancelled.
nothing-to-cancel = Nothing to cancel.
unknown-command = I don't know that command. /help lists what I can do.
not-text = Send me a text description of the logo you want, or /help.

## Errors

error-unexpected = 😵 Something went wrong on our side. Please try again in a moment.
error-stale-button = This button is no longer valid. Send a new prompt or use /new.
error-unknown-job = This button is no longer valid: I don't know that job for you.
error-not-from-user = I can only answer messages sent by a user.
error-message-too-old = That message is too old to act on. Send a new prompt or use /new.
error-item-gone = That item no longer exists.
error-api-refused = The service refused that: { $detail }
api-refused-job-ended = { $status ->
        [succeeded] That logo is already drawn: nothing to cancel.
       *[other] That job has already ended: nothing to cancel.
    }
api-refused-nothing-to-train = There is nothing to train on yet: no unused well-rated logo, and no dataset named.
error-api-status = The LogoForge API refused that ({ $status }). Try again later.
error-api-unreachable = The LogoForge API is unreachable right now. Try again later.
error-admins-only = Sorry, this command is for admins only.
error-rate-limited = { $limit ->
        [one] You have started { $limit } generation
       *[other] You have started { $limit } generations
    } in the last { $window ->
        [one] second
       *[other] { $window } seconds
    }. Please wait a little and try again 🙏
error-prompt-empty = The prompt must not be empty: describe the logo you want.
error-prompt-too-long = The prompt must be at most { $limit } characters, got { $length }.
error-answer-empty = The answer must not be empty.
error-answer-empty-optional = The answer must not be empty (send “{ skip-word }” to leave it out).
error-answer-too-long = The answer must be at most { $limit } characters, got { $length }.
error-constructor-missing = The constructor is missing: { $steps }. Start again with /new.
error-step-over = That button belongs to a step that is over. Answer the current question, or /new.
error-not-a-choice = That button is not one of this step's choices.
error-prompt-closed = That prompt is no longer open. Start again with /new.
error-image-not-in-job = That image is not part of this job.
error-page-gone = That page is gone; open /history again.
error-promote-usage = Usage: /promote <adapter version>, or /promote base for the base model.
error-unknown-adapter = There is no adapter version “{ $version }”.

## Settings: /settings, /set

setting-images = images
setting-size = size
setting-steps = steps
setting-guidance = guidance
setting-seed = seed
setting-scheduler = scheduler
setting-language = language
seed-random = random
language-name = { $language ->
        [ru] Русский
       *[en] English
    }
settings-summary =
    images: { $images }
    size: { $size }×{ $size }
    steps: { $steps }
    guidance: { $guidance }
    seed: { $seed }
    scheduler: { $scheduler }
    language: { language-name }
settings-current =
    Your settings:
    { $summary }

    Tap to change, or type e.g. /set steps 25
settings-saved =
    Saved. Your settings:
    { $summary }
setting-choice = { $name } { $value }
setting-changed = { $name }: { $value }
settings-usage = Usage: /set <name> <value>, where name is one of { $names } (seed also takes “random”).
error-unknown-setting = Unknown setting “{ $name }”: choose one of { $names }.
error-setting-number = { $name } must be a number, got “{ $value }”.
error-setting-whole-number = { $name } must be a whole number, got “{ $value }”.
error-setting-seed = seed must be a whole number or “random”, got “{ $value }”.
error-setting-too-small = { $name } must be at least { NUMBER($limit, useGrouping: 0) }, got { $value }.
error-setting-too-large = { $name } must be at most { NUMBER($limit, useGrouping: 0) }, got { $value }.
error-setting-multiple-of-8 = { $name } must be a multiple of 8, got { $value }.
error-setting-choice = { $name } must be one of { $choices }, got “{ $value }”.
error-setting-invalid = { $name }: { $detail }

## The prompt constructor: /new

step-question = Step { $number }/{ $total }: { $question }
question-name = What is the brand called? Send its name.
question-field = What does the brand do? Pick one or send your own.
question-symbol = What is the main symbol? Pick one or describe it.
question-style = Which style?
question-palette = Which colours (foreground)? Pick a palette or name your colours.
question-background = Which background?
question-extras = Anything else? Pick, describe, or skip.
skip-word = skip
hint-coffee = ☕ coffee
hint-tech = 💻 tech
hint-fitness = 🏋️ fitness
hint-finance = 💰 finance
hint-education = 🎓 education
hint-games = 🎮 games
hint-fox = 🦊 fox
hint-mountain = ⛰️ mountain
hint-leaf = 🍃 leaf
hint-rocket = 🚀 rocket
hint-shield = 🛡️ shield
hint-initial = 🔤 initial
hint-minimalist = minimalist
hint-emblem = emblem
hint-mascot = mascot
hint-lettermark = lettermark
hint-geometric = geometric
hint-vintage = vintage
hint-hand-drawn = hand-drawn
hint-monochrome = ⚫ monochrome
hint-ocean = 🌊 ocean
hint-sunset = 🌅 sunset
hint-forest = 🌲 forest
hint-pastel = 🍬 pastel
hint-gold = ✨ gold
hint-white = white
hint-black = black
hint-light-gray = light gray
hint-navy = navy
hint-flat = flat
hint-no-text = no text
hint-rounded = rounded
hint-negative-space = negative space
hint-skip = ⏭ skip
review =
    Your prompt:

    { $prompt }

    Generate it, or edit it first.
review-not-english =
    ⚠️ Some of it is not in English: { $words }
    The model understands English best and may draw those words poorly. Edit the prompt, or generate it as it is.
editing =
    Current prompt:

    { $prompt }

    Send the edited prompt.
review-use-buttons = Press 🎨 Generate or ✏️ Edit prompt above, or /cancel.
button-generate = 🎨 Generate
button-edit-prompt = ✏️ Edit prompt
button-start-over = ↩️ Start over

## A prompt typed in another alphabet

not-english-prompt =
    ⚠️ Your prompt is not in English: the model learnt from English captions and draws best from them.

    Write it in English, or let the constructor (/new) compose an English prompt from your choices. Or draw it as it is.
button-draw-anyway = 🎨 Draw it anyway
button-open-constructor = 🧩 Constructor

## Queue, progress, results

queued = ⏳ Queued.
queued-next = ⏳ Queued: yours is next.
queued-ahead = { $count ->
        [one] ⏳ Queued: { $count } job ahead of yours.
       *[other] ⏳ Queued: { $count } jobs ahead of yours.
    }
queue-failed = ❌ Could not queue the job.
progress =
    🎨 Drawing… { $step }/{ $total } steps
    { $bar }
generation-failed = ❌ Generation failed: { $reason }
failure-our-side = something went wrong on our side
status-cancelled = ✖ Cancelled.
done = { $count ->
        [one] ✅ Done: { $count } logo, seed { $seed }.
       *[other] ✅ Done: { $count } logos, seed { $seed }.
    }
done-hidden = { $count ->
        [one] { $count } hidden by the safety checker.
       *[other] { $count } hidden by the safety checker.
    }
album-caption =
    { $prompt }

    seed { $seed } · { $model }
rate-prompt = Rate each logo (#n sends it as a file), or draw again:
button-reroll = 🎲 Reroll
button-variations = 🔀 Variations
button-cancel = ✖ Cancel
reroll-started = 🎲 New seed, drawing again…
variations-started = 🔀 Drawing variations…
cancelling = ✖ Cancelling…
rated = Rated #{ $number }: { $stars } — thank you!

## /history

history-empty = No logos yet. Send a prompt or try /new.
history-no-older = No older logos.
history-title = Your logos, page { $page }:
history-when = { DATETIME($created, dateStyle: "medium", timeStyle: "short") } UTC
history-edit-hint = ✏️ n: edit that prompt and draw again.
button-newer = ◀️ Newer
button-older = Older ▶️
unrated = unrated
rating-short = { NUMBER($mean, minimumFractionDigits: 1, maximumFractionDigits: 1) }★ ({ $count })
rating-yours = you { $score }★
job-status = { $status ->
        [queued] queued
        [running] drawing
        [succeeded] done
        [failed] failed
        [cancelled] cancelled
       *[other] { $status }
    }

## /best

best-all = Everyone's best logos
best-mine = Your best logos
best-none = { $title }: none rated yet.
best-ranked = { $title } (ranked by score: many good ratings beat one perfect one):
score = { NUMBER($mean, minimumFractionDigits: 1, maximumFractionDigits: 1) }★ from { $count ->
        [one] { $count } rating
       *[other] { $count } ratings
    } · score { NUMBER($score, minimumFractionDigits: 2, maximumFractionDigits: 2) }
button-best-all = 🌍 Everyone's
button-best-mine = 👤 Mine

## Admin: /stats, /retrain, /promote

stats-queues = Queues (ready · consumers · dead letters):
stats-broker-silent = RabbitMQ did not answer
stats-jobs = Jobs: { $counts }
stats-job-count = { job-status } { $count }
stats-ratings = Ratings: { $ratings } of { $images ->
        [one] { $images } image
       *[other] { $images } images
    }
stats-adapter = Adapter in service: { $adapter }
base-model = the base model
retrain-queued = { $images ->
        [one] 🏋️ Training run { $run } queued with { $images } image.
       *[other] 🏋️ Training run { $run } queued with { $images } images.
    }
retrain-queued-datasets = { $images ->
        [one] 🏋️ Training run { $run } queued with { $images } image and datasets { $datasets }.
       *[other] 🏋️ Training run { $run } queued with { $images } images and datasets { $datasets }.
    }
promoted = 🚀 In service: { $adapter } (before: { $previous }). Generators load it between jobs.

## Assets of a logo

button-assets = 🧰 { $number }
button-svg = SVG
button-transparent_svg = SVG without background
button-transparent_png = PNG without background
button-kit = Brand kit
assets-title = Logo #{ $number }: files for designers.
assets-palette = Palette: { $colours }
palette-colour = { $name } { $hex } ({ NUMBER($share, style: "percent") })
assets-making = The files of this logo are being made. Tap again in a few seconds.
assets-failed = { $asset }: could not be made for this logo.
error-asset-missing = That file was not made for this logo.
button-edit-and-vary = ✏️ Edit and vary
history-variation = 🔀 variation of { $image }

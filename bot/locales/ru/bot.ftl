# Бот LogoForge: русский. У каждого ключа есть двойник в ../en/bot.ftl (проверяет tests/bot/test_i18n.py).
# Промпты и слова, которые кнопки-подсказки вставляют в промпт, остаются английскими: текстовый энкодер
# модели учился на английских подписях.

## Меню команд

command-new = собрать промпт шаг за шагом
command-settings = изображения, размер, шаги, guidance, seed, планировщик, язык
command-history = ваши прежние логотипы
command-best = логотипы с лучшими оценками
command-help = что я умею

## /start, /help, /cancel

help =
    Я рисую логотипы по описанию. 🎨

    Пришлите любой текст, и я нарисую его с вашими настройками, например
      a logo of a fox, white background, orange foreground, minimalism, modern
    Лучше всего я понимаю описания на английском.

    /new – собрать промпт шаг за шагом
    /settings – изображения, размер, шаги, guidance, seed, планировщик, язык (или: /set steps 20)
    /history – ваши прежние логотипы; откройте любой, чтобы изменить и нарисовать снова
    /best – логотипы с лучшими оценками, всех и ваши
    /cancel – выйти из текущего диалога
    /help – это сообщение
start = Привет! { help }
cancelled = Отменено.
nothing-to-cancel = Отменять нечего.
unknown-command = Такой команды я не знаю. /help покажет, что я умею.
not-text = Пришлите текстовое описание логотипа, который вам нужен, или /help.

## Ошибки

error-unexpected = 😵 У нас что-то пошло не так. Попробуйте ещё раз чуть позже.
error-stale-button = Эта кнопка больше не действует. Пришлите новый промпт или нажмите /new.
error-unknown-job = Эта кнопка больше не действует: такой задачи у вас нет.
error-not-from-user = Я отвечаю только на сообщения пользователей.
error-message-too-old = Это сообщение слишком старое. Пришлите новый промпт или нажмите /new.
error-item-gone = Этого больше нет.
error-api-refused = Сервис отказал: { $detail }
api-refused-job-ended = { $status ->
        [succeeded] Этот логотип уже нарисован: отменять нечего.
       *[other] Эта задача уже завершилась: отменять нечего.
    }
api-refused-nothing-to-train = Пока не на чем обучать: нет неиспользованных логотипов с высокой оценкой, и набор данных не указан.
error-api-status = API LogoForge отказал ({ $status }). Попробуйте позже.
error-api-unreachable = API LogoForge сейчас недоступен. Попробуйте позже.
error-admins-only = Извините, эта команда только для администраторов.
error-rate-limited = { $limit ->
        [one] Вы запустили { $limit } генерацию
        [few] Вы запустили { $limit } генерации
       *[many] Вы запустили { $limit } генераций
    } за { $window ->
        [one] последнюю { $window } секунду
        [few] последние { $window } секунды
       *[many] последние { $window } секунд
    }. Подождите немного и попробуйте снова 🙏
error-prompt-empty = Промпт не может быть пустым: опишите логотип, который вам нужен.
error-prompt-too-long = Промпт может быть не длиннее { $limit } символов, а в нём { $length }.
error-answer-empty = Ответ не может быть пустым.
error-answer-empty-optional = Ответ не может быть пустым (пришлите «{ skip-word }», чтобы пропустить шаг).
error-answer-too-long = Ответ может быть не длиннее { $limit } символов, а в нём { $length }.
error-constructor-missing = В конструкторе не хватает ответов: { $steps }. Начните заново с /new.
error-step-over = Эта кнопка от шага, который уже пройден. Ответьте на текущий вопрос или нажмите /new.
error-not-a-choice = Этой кнопки нет среди вариантов этого шага.
error-prompt-closed = Этот промпт уже закрыт. Начните заново с /new.
error-image-not-in-job = Этого изображения нет в задаче.
error-page-gone = Этой страницы уже нет; откройте /history снова.
error-promote-usage = Использование: /promote <версия адаптера> или /promote base для базовой модели.
error-unknown-adapter = Версии адаптера «{ $version }» нет.

## Настройки: /settings, /set

setting-images = изображений
setting-size = размер
setting-steps = шагов
setting-guidance = guidance
setting-seed = seed
setting-scheduler = планировщик
setting-language = язык
seed-random = случайный
language-name = { $language ->
        [ru] Русский
       *[en] English
    }
settings-summary =
    изображений: { $images }
    размер: { $size }×{ $size }
    шагов: { $steps }
    guidance: { $guidance }
    seed: { $seed }
    планировщик: { $scheduler }
    язык: { language-name }
settings-current =
    Ваши настройки:
    { $summary }

    Нажмите, чтобы изменить, или напишите, например, /set steps 25
settings-saved =
    Сохранено. Ваши настройки:
    { $summary }
setting-choice = { $name }: { $value }
setting-changed = { $name }: { $value }
settings-usage = Использование: /set <имя> <значение>, где имя — одно из: { $names } (seed принимает и «random»).
error-unknown-setting = Нет настройки «{ $name }»: выберите одну из: { $names }.
error-setting-number = { $name }: нужно число, а не «{ $value }».
error-setting-whole-number = { $name }: нужно целое число, а не «{ $value }».
error-setting-seed = seed: нужно целое число или «random», а не «{ $value }».
error-setting-too-small = { $name }: не меньше { NUMBER($limit, useGrouping: 0) }, а не { $value }.
error-setting-too-large = { $name }: не больше { NUMBER($limit, useGrouping: 0) }, а не { $value }.
error-setting-multiple-of-8 = { $name }: нужно число, кратное 8, а не { $value }.
error-setting-choice = { $name }: одно из { $choices }, а не «{ $value }».
error-setting-invalid = { $name }: { $detail }

## Конструктор промпта: /new

step-question = Шаг { $number }/{ $total }: { $question }
question-name = Как называется бренд? Пришлите название.
question-field = Чем занимается бренд? Выберите вариант или напишите свой.
question-symbol = Какой главный символ? Выберите или опишите его.
question-style = Какой стиль?
question-palette = Какие цвета (передний план)? Выберите палитру или назовите цвета.
question-background = Какой фон?
question-extras = Что-нибудь ещё? Выберите, опишите или пропустите.
skip-word = пропустить
hint-coffee = ☕ кофейня
hint-tech = 💻 IT
hint-fitness = 🏋️ фитнес
hint-finance = 💰 финансы
hint-education = 🎓 образование
hint-games = 🎮 игры
hint-fox = 🦊 лиса
hint-mountain = ⛰️ гора
hint-leaf = 🍃 лист
hint-rocket = 🚀 ракета
hint-shield = 🛡️ щит
hint-initial = 🔤 буква
hint-minimalist = минимализм
hint-emblem = эмблема
hint-mascot = маскот
hint-lettermark = леттермарк
hint-geometric = геометрия
hint-vintage = винтаж
hint-hand-drawn = от руки
hint-monochrome = ⚫ монохром
hint-ocean = 🌊 океан
hint-sunset = 🌅 закат
hint-forest = 🌲 лес
hint-pastel = 🍬 пастель
hint-gold = ✨ золото
hint-white = белый
hint-black = чёрный
hint-light-gray = светло-серый
hint-navy = тёмно-синий
hint-flat = плоский
hint-no-text = без текста
hint-rounded = скруглённый
hint-negative-space = негативное пространство
hint-skip = ⏭ пропустить
review =
    Ваш промпт:

    { $prompt }

    Нарисовать его или сначала изменить?
review-not-english =
    ⚠️ Здесь есть слова не на английском: { $words }
    Модель лучше всего понимает английский и может плохо нарисовать эти слова. Измените промпт или нарисуйте как есть.
editing =
    Текущий промпт:

    { $prompt }

    Пришлите изменённый промпт.
review-use-buttons = Нажмите 🎨 Нарисовать или ✏️ Изменить промпт выше, или /cancel.
button-generate = 🎨 Нарисовать
button-edit-prompt = ✏️ Изменить промпт
button-start-over = ↩️ Начать заново

## Промпт не латиницей

not-english-prompt =
    ⚠️ Ваш промпт не на английском: модель училась на английских подписях и лучше всего рисует по ним.

    Напишите его по-английски или соберите английский промпт в конструкторе (/new) из готовых вариантов. Или нарисуйте как есть.
button-draw-anyway = 🎨 Всё равно нарисовать
button-open-constructor = 🧩 Конструктор

## Очередь, ход работы, результаты

queued = ⏳ В очереди.
queued-next = ⏳ В очереди: ваша задача следующая.
queued-ahead = { $count ->
        [one] ⏳ В очереди: впереди { $count } задача.
        [few] ⏳ В очереди: впереди { $count } задачи.
       *[many] ⏳ В очереди: впереди { $count } задач.
    }
queue-failed = ❌ Не удалось поставить задачу в очередь.
progress =
    🎨 Рисую… шаг { $step } из { $total }
    { $bar }
generation-failed = ❌ Не удалось нарисовать: { $reason }
failure-our-side = у нас что-то пошло не так
status-cancelled = ✖ Отменено.
done = { $count ->
        [one] ✅ Готово: { $count } логотип, сид { $seed }.
        [few] ✅ Готово: { $count } логотипа, сид { $seed }.
       *[many] ✅ Готово: { $count } логотипов, сид { $seed }.
    }
done-hidden = { $count ->
        [one] { $count } изображение скрыто фильтром безопасности.
        [few] { $count } изображения скрыты фильтром безопасности.
       *[many] { $count } изображений скрыто фильтром безопасности.
    }
album-caption =
    { $prompt }

    сид { $seed } · модель { $model }
rate-prompt = Оцените каждый логотип (#n пришлёт его файлом) или нарисуйте снова:
button-reroll = 🎲 Ещё раз
button-variations = 🔀 Вариации
button-cancel = ✖ Отменить
reroll-started = 🎲 Новый seed, рисую снова…
variations-started = 🔀 Рисую вариации…
cancelling = ✖ Отменяю…
rated = Оценка #{ $number }: { $stars } — спасибо!

## /history

history-empty = Логотипов пока нет. Пришлите промпт или попробуйте /new.
history-no-older = Более старых логотипов нет.
history-title = Ваши логотипы, страница { $page }:
history-when = { DATETIME($created, dateStyle: "medium", timeStyle: "short") } UTC
history-edit-hint = ✏️ n: изменить этот промпт и нарисовать снова.
button-newer = ◀️ Новее
button-older = Старше ▶️
unrated = без оценок
rating-short = { NUMBER($mean, minimumFractionDigits: 1, maximumFractionDigits: 1) }★ ({ $count })
rating-yours = ваша { $score }★
job-status = { $status ->
        [queued] в очереди
        [running] рисуется
        [succeeded] готово
        [failed] не удалось
        [cancelled] отменено
       *[other] { $status }
    }

## /best

best-all = Лучшие логотипы всех
best-mine = Ваши лучшие логотипы
best-none = { $title }: оценок пока нет.
best-ranked = { $title } (по баллу: много хороших оценок важнее одной отличной):
score = { NUMBER($mean, minimumFractionDigits: 1, maximumFractionDigits: 1) }★ по { $count ->
        [one] { $count } оценке
       *[other] { $count } оценкам
    } · балл { NUMBER($score, minimumFractionDigits: 2, maximumFractionDigits: 2) }
button-best-all = 🌍 Всех
button-best-mine = 👤 Мои

## Администраторам: /stats, /retrain, /promote

stats-queues = Очереди (готово · потребители · dead letters):
stats-broker-silent = RabbitMQ не ответил
stats-jobs = Задачи: { $counts }
stats-job-count = { job-status } { $count }
stats-ratings = Оценок: { $ratings } для { $images ->
        [one] { $images } изображения
       *[other] { $images } изображений
    }
stats-adapter = Адаптер в работе: { $adapter }
base-model = базовая модель
retrain-queued = { $images ->
        [one] 🏋️ Обучение { $run } в очереди: { $images } изображение.
        [few] 🏋️ Обучение { $run } в очереди: { $images } изображения.
       *[many] 🏋️ Обучение { $run } в очереди: { $images } изображений.
    }
retrain-queued-datasets = { $images ->
        [one] 🏋️ Обучение { $run } в очереди: { $images } изображение и датасеты { $datasets }.
        [few] 🏋️ Обучение { $run } в очереди: { $images } изображения и датасеты { $datasets }.
       *[many] 🏋️ Обучение { $run } в очереди: { $images } изображений и датасеты { $datasets }.
    }
promoted = 🚀 В работе: { $adapter } (до этого: { $previous }). Генераторы загрузят его между задачами.

## Файлы логотипа

button-assets = 🧰 { $number }
button-svg = SVG
button-transparent_svg = SVG без фона
button-transparent_png = PNG без фона
button-kit = Брендбук
assets-title = Логотип #{ $number }: файлы для дизайнера.
assets-palette = Палитра: { $colours }
palette-colour = { $name } { $hex } ({ NUMBER($share, style: "percent") })
assets-making = Файлы этого логотипа ещё готовятся. Нажмите снова через несколько секунд.
assets-failed = { $asset }: для этого логотипа не получился.
error-asset-missing = Этот файл для логотипа не сделан.
button-edit-and-vary = ✏️ Изменить и варьировать
history-variation = 🔀 вариация { $image }

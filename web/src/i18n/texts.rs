//! Every string of the interface, in Russian and English, side by side.

use super::Lang;

/// A piece of interface text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    AppName,
    LanguageSwitch,
    NavGallery,
    NavSearch,
    NavUpload,
    NavTrades,
    NavCollection,
    NavFavorites,
    NavRequests,
    NavScan,
    NavSettings,
    NavSignIn,
    StatusChecking,
    StatusOnline,
    StatusDegraded,
    StatusOffline,
    GalleryTitle,
    GalleryLead,
    PhotoTitle,
    PhotoLead,
    ProvenanceTitle,
    ProvenanceLead,
    UploadTitle,
    UploadLead,
    CollectionTitle,
    CollectionLead,
    FavoritesTitle,
    FavoritesLead,
    TradesTitle,
    TradesLead,
    ProfileTitle,
    ProfileLead,
    RequestsTitle,
    RequestsLead,
    SearchTitle,
    SearchLead,
    SettingsTitle,
    SettingsLead,
    SignInTitle,
    SignInLead,
    ScanTitle,
    ScanLead,
    NotFoundTitle,
    NotFoundLead,
    BackToGallery,
    ComingSoon,
}

impl Text {
    /// This text in `lang`.
    pub fn in_lang(self, lang: Lang) -> &'static str {
        let (ru, en) = self.both();
        match lang {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }

    fn both(self) -> (&'static str, &'static str) {
        match self {
            Text::AppName => ("Max Галерея", "Max Gallery"),
            Text::LanguageSwitch => ("Язык интерфейса", "Interface language"),
            Text::NavGallery => ("Галерея", "Gallery"),
            Text::NavSearch => ("Поиск", "Search"),
            Text::NavUpload => ("Загрузить", "Upload"),
            Text::NavTrades => ("Обмены", "Trades"),
            Text::NavCollection => ("Коллекция", "Collection"),
            Text::NavFavorites => ("Избранное", "Favorites"),
            Text::NavRequests => ("Запросы", "Requests"),
            Text::NavScan => ("Сканер QR", "QR scanner"),
            Text::NavSettings => ("Настройки", "Settings"),
            Text::NavSignIn => ("Вход", "Sign in"),
            Text::StatusChecking => ("Проверяем связь…", "Checking connection…"),
            Text::StatusOnline => ("Сервер на связи", "Server online"),
            Text::StatusDegraded => ("База данных недоступна", "Database unavailable"),
            Text::StatusOffline => ("Нет связи с сервером", "Server unreachable"),
            Text::GalleryTitle => ("Галерея", "Gallery"),
            Text::GalleryLead => (
                "Все фотографии — цифровые арт-объекты, у каждого свой владелец.",
                "Every photo is a digital art object with exactly one owner.",
            ),
            Text::PhotoTitle => ("Фотография", "Photo"),
            Text::PhotoLead => (
                "Автор, владелец, история владения и действия с объектом.",
                "Creator, owner, ownership history and what you can do with the object.",
            ),
            Text::ProvenanceTitle => ("Происхождение объекта", "Provenance"),
            Text::ProvenanceLead => (
                "Текущий владелец и цепочка передач, защищённая от подделки.",
                "The current owner and the tamper-evident chain of hand-overs.",
            ),
            Text::UploadTitle => ("Загрузка", "Upload"),
            Text::UploadLead => (
                "Загрузите фотографию — она станет вашим арт-объектом.",
                "Upload a photo and it becomes your art object.",
            ),
            Text::CollectionTitle => ("Моя коллекция", "My collection"),
            Text::CollectionLead => ("Объекты, которыми вы владеете.", "The objects you own."),
            Text::FavoritesTitle => ("Избранное", "Favorites"),
            Text::FavoritesLead => (
                "Фотографии, которые вы отметили.",
                "Photos you have marked.",
            ),
            Text::TradesTitle => ("Обмены", "Trades"),
            Text::TradesLead => (
                "Входящие и исходящие предложения обмена и их история.",
                "Incoming and outgoing trade offers and their history.",
            ),
            Text::ProfileTitle => ("Профиль", "Profile"),
            Text::ProfileLead => (
                "Имя, описание и коллекция пользователя.",
                "A person's name, bio and collection.",
            ),
            Text::RequestsTitle => ("Запросы доступа", "Profile requests"),
            Text::RequestsLead => (
                "Запросы на просмотр закрытых профилей: входящие и исходящие.",
                "Requests to see private profiles: incoming and outgoing.",
            ),
            Text::SearchTitle => ("Поиск", "Search"),
            Text::SearchLead => (
                "Ищите фотографии по названию, описанию и тегам, людей — по имени.",
                "Find photos by title, description and tags, and people by name.",
            ),
            Text::SettingsTitle => ("Настройки", "Settings"),
            Text::SettingsLead => (
                "Имя пользователя, приватность, пароль, язык и активные сеансы.",
                "Handle, privacy, password, language and active sessions.",
            ),
            Text::SignInTitle => ("Вход", "Sign in"),
            Text::SignInLead => (
                "В Max вход происходит автоматически. На компьютере — по QR-коду или паролю.",
                "Inside Max you are signed in automatically. On a computer, use a QR code or a password.",
            ),
            Text::ScanTitle => ("Сканер QR", "QR scanner"),
            Text::ScanLead => (
                "Отсканируйте QR-код, чтобы получить объект или войти на компьютере.",
                "Scan a QR code to claim an object or sign in on a computer.",
            ),
            Text::NotFoundTitle => ("Страница не найдена", "Page not found"),
            Text::NotFoundLead => (
                "Такой страницы нет. Возможно, ссылка устарела.",
                "There is no such page. The link may be out of date.",
            ),
            Text::BackToGallery => ("Вернуться в галерею", "Back to the gallery"),
            Text::ComingSoon => (
                "Этот раздел появится в ближайших обновлениях.",
                "This section arrives in an upcoming update.",
            ),
        }
    }
}

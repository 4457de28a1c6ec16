//! Every page of the app, as one routable enum.

use yew_router::Routable;

/// The app's URL space. Paths are part of the product: QR codes and shared links point here.
#[derive(Debug, Clone, PartialEq, Eq, Routable)]
pub enum Route {
    #[at("/")]
    Gallery,
    #[at("/photos/:id")]
    Photo { id: String },
    #[at("/objects/:id")]
    Provenance { id: String },
    #[at("/upload")]
    Upload,
    #[at("/collection")]
    Collection,
    #[at("/favorites")]
    Favorites,
    #[at("/trades")]
    Trades,
    #[at("/users/:handle")]
    Profile { handle: String },
    #[at("/requests")]
    ProfileRequests,
    #[at("/search")]
    Search,
    #[at("/settings")]
    Settings,
    #[at("/login")]
    SignIn,
    #[at("/scan")]
    Scanner,
    /// Opened inside Max from a desktop's sign-in QR code (`startapp=login_<id>`).
    #[at("/approve/:id")]
    Approve { id: String },
    /// A claim link (`startapp=claim_<token>`).
    #[at("/claim/:token")]
    Claim { token: String },
    #[not_found]
    #[at("/404")]
    NotFound,
}

impl Route {
    /// The page a Max deep link's start parameter (`?startapp=<param>`) opens.
    pub fn from_start_param(param: &str) -> Option<Route> {
        let valid = |rest: &str| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
        };
        let (prefix, rest) = param.split_once('_')?;
        if !valid(rest) {
            return None;
        }
        let rest = rest.to_owned();
        match prefix {
            "login" => Some(Route::Approve { id: rest }),
            "claim" => Some(Route::Claim { token: rest }),
            "o" => Some(Route::Provenance { id: rest }),
            _ => None,
        }
    }

    /// The page a scanned or pasted link of the gallery opens: a Max deep link, or a URL of
    /// one of the app's shareable pages (on any host: the same app may be served under
    /// several names).
    pub fn from_shared_link(text: &str) -> Option<Route> {
        let text = text.trim();
        if let Some(query) = text
            .strip_prefix("https://max.ru/")
            .and_then(|rest| rest.split_once('?'))
            .map(|(_, query)| query)
        {
            let param = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("startapp="))?;
            return Route::from_start_param(param);
        }
        let path = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .and_then(|rest| rest.find('/').map(|slash| &rest[slash..]))?;
        let path = path.split(['?', '#']).next().unwrap_or_default();
        match Route::recognize(path)? {
            route @ (Route::Claim { .. }
            | Route::Provenance { .. }
            | Route::Photo { .. }
            | Route::Approve { .. }
            | Route::Profile { .. }) => Some(route),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_parameters_open_their_pages() {
        assert_eq!(
            Route::from_start_param("claim_AbC-d_9"),
            Some(Route::Claim {
                token: "AbC-d_9".into()
            })
        );
        assert_eq!(
            Route::from_start_param("o_17"),
            Some(Route::Provenance { id: "17".into() })
        );
        assert_eq!(
            Route::from_start_param("login_x1"),
            Some(Route::Approve { id: "x1".into() })
        );
        assert_eq!(Route::from_start_param("claim_"), None);
        assert_eq!(Route::from_start_param("promo"), None);
    }

    #[test]
    fn shared_links_of_the_gallery_are_recognised_and_others_not() {
        assert_eq!(
            Route::from_shared_link("https://max.ru/gallery_bot?startapp=claim_T0k"),
            Some(Route::Claim {
                token: "T0k".into()
            })
        );
        assert_eq!(
            Route::from_shared_link(" http://127.0.0.1:8080/objects/5 "),
            Some(Route::Provenance { id: "5".into() })
        );
        assert_eq!(
            Route::from_shared_link("https://gallery.example/claim/T0k?x=1"),
            Some(Route::Claim {
                token: "T0k".into()
            })
        );
        assert_eq!(
            Route::from_shared_link("https://gallery.example/settings"),
            None
        );
        assert_eq!(Route::from_shared_link("hello"), None);
        assert_eq!(
            Route::from_shared_link("https://max.ru/gallery_bot?startapp=promo"),
            None
        );
    }
}

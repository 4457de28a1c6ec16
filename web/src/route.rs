//! Every page of the app, as one routable enum, and its paths: one table each way
//! ([`Route::recognize_path`], [`Route::path`]). Written by hand rather than derived: the
//! derived matcher was the web client's largest single function.

use std::collections::HashMap;

use yew_router::Routable;

/// The app's URL space. Paths are part of the product: QR codes and shared links point here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`
    Gallery,
    /// `/photos/<id>`
    Photo { id: String },
    /// `/objects/<id>`
    Provenance { id: String },
    /// `/upload`
    Upload,
    /// `/collection`
    Collection,
    /// `/favorites`
    Favorites,
    /// `/trades`
    Trades,
    /// `/users/<handle or id>`
    Profile { user: String },
    /// `/requests`
    ProfileRequests,
    /// `/search`
    Search,
    /// `/settings`
    Settings,
    /// `/login`
    SignIn,
    /// `/scan`
    Scanner,
    /// `/approve/<id>`: opened inside Max from a desktop's sign-in QR code
    /// (`startapp=login_<id>`).
    Approve { id: String },
    /// `/claim/<token>`: a claim link (`startapp=claim_<token>`).
    Claim { token: String },
    /// `/404`, and every path the app does not know.
    NotFound,
}

impl Route {
    /// The page at `path` (no query or fragment), if the app has one there.
    pub fn recognize_path(path: &str) -> Option<Route> {
        let path = match path.strip_suffix('/') {
            Some(trimmed) if !trimmed.is_empty() => trimmed,
            _ => path,
        };
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        let value = |segment: &str| (!segment.is_empty()).then(|| segment.to_owned());
        Some(match segments.as_slice() {
            [""] => Route::Gallery,
            ["photos", id] => Route::Photo { id: value(id)? },
            ["objects", id] => Route::Provenance { id: value(id)? },
            ["upload"] => Route::Upload,
            ["collection"] => Route::Collection,
            ["favorites"] => Route::Favorites,
            ["trades"] => Route::Trades,
            ["users", user] => Route::Profile { user: value(user)? },
            ["requests"] => Route::ProfileRequests,
            ["search"] => Route::Search,
            ["settings"] => Route::Settings,
            ["login"] => Route::SignIn,
            ["scan"] => Route::Scanner,
            ["approve", id] => Route::Approve { id: value(id)? },
            ["claim", token] => Route::Claim {
                token: value(token)?,
            },
            ["404"] => Route::NotFound,
            _ => return None,
        })
    }

    /// The route's path.
    pub fn path(&self) -> String {
        match self {
            Route::Gallery => "/".to_owned(),
            Route::Photo { id } => format!("/photos/{id}"),
            Route::Provenance { id } => format!("/objects/{id}"),
            Route::Upload => "/upload".to_owned(),
            Route::Collection => "/collection".to_owned(),
            Route::Favorites => "/favorites".to_owned(),
            Route::Trades => "/trades".to_owned(),
            Route::Profile { user } => format!("/users/{user}"),
            Route::ProfileRequests => "/requests".to_owned(),
            Route::Search => "/search".to_owned(),
            Route::Settings => "/settings".to_owned(),
            Route::SignIn => "/login".to_owned(),
            Route::Scanner => "/scan".to_owned(),
            Route::Approve { id } => format!("/approve/{id}"),
            Route::Claim { token } => format!("/claim/{token}"),
            Route::NotFound => "/404".to_owned(),
        }
    }
}

impl Routable for Route {
    fn from_path(path: &str, _params: &HashMap<&str, &str>) -> Option<Self> {
        Route::recognize_path(path)
    }

    fn to_path(&self) -> String {
        self.path()
    }

    fn routes() -> Vec<&'static str> {
        vec![
            "/",
            "/photos/:id",
            "/objects/:id",
            "/upload",
            "/collection",
            "/favorites",
            "/trades",
            "/users/:user",
            "/requests",
            "/search",
            "/settings",
            "/login",
            "/scan",
            "/approve/:id",
            "/claim/:token",
            "/404",
        ]
    }

    fn not_found_route() -> Option<Self> {
        Some(Route::NotFound)
    }

    fn recognize(pathname: &str) -> Option<Self> {
        Some(Route::recognize_path(pathname).unwrap_or(Route::NotFound))
    }
}

impl Route {
    /// The profile page of `user`: by handle, or by id for those without one.
    pub fn profile_of(user: &gallery_types::UserSummary) -> Route {
        Route::Profile {
            user: user.handle.clone().unwrap_or_else(|| user.id.to_string()),
        }
    }

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
            "u" => Some(Route::Profile { user: rest }),
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
        match Route::recognize_path(path)? {
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
    fn every_route_is_found_at_its_own_path() {
        let routes = [
            Route::Gallery,
            Route::Photo { id: "7".into() },
            Route::Provenance { id: "7".into() },
            Route::Upload,
            Route::Collection,
            Route::Favorites,
            Route::Trades,
            Route::Profile {
                user: "olga".into(),
            },
            Route::ProfileRequests,
            Route::Search,
            Route::Settings,
            Route::SignIn,
            Route::Scanner,
            Route::Approve { id: "a1".into() },
            Route::Claim {
                token: "T0k".into(),
            },
            Route::NotFound,
        ];
        for route in routes {
            assert_eq!(Route::recognize_path(&route.path()), Some(route.clone()));
        }
        assert_eq!(
            Route::recognize_path("/users/olga/"),
            Some(Route::Profile {
                user: "olga".into()
            })
        );
        assert_eq!(Route::recognize_path("/users/"), None);
        assert_eq!(Route::recognize_path("/photos/1/2"), None);
        assert_eq!(Route::recognize("/nowhere"), Some(Route::NotFound));
        assert_eq!(
            Route::from_start_param("u_olga"),
            Some(Route::Profile {
                user: "olga".into()
            })
        );
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

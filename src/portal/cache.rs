//! The shop page (what a phone sees before it pays) rendered once for each language, settings
//! and list of packages, then served as shared bytes: a crowd of phones joining at once costs one
//! render and one copy of the page in memory, not one of each per phone.
//! Touches: nothing (a memo of pure rendering).

use super::pages::Frame;
use crate::config::Lang;
use crate::html::Shared;
use crate::live::Settings;
use crate::store::packages::Package;
use std::sync::{Arc, Mutex};

/// What a shop page was rendered from, and the page.
struct Rendered {
    /// Held, not only compared: while it is here, no other settings can get its address.
    settings: Arc<Settings>,
    mpesa: bool,
    mpesa_down: bool,
    packages: Vec<Package>,
    page: Shared,
}

/// The last shop page rendered in each language.
#[derive(Default)]
pub struct PageCache {
    en: Mutex<Option<Rendered>>,
    sw: Mutex<Option<Rendered>>,
}

impl PageCache {
    /// The shop page for `frame` and `packages` under `settings`, rendered if anything changed.
    pub fn shop(&self, settings: &Arc<Settings>, frame: &Frame, packages: &[Package]) -> Shared {
        let slot = match frame.t.lang {
            Lang::En => &self.en,
            Lang::Sw => &self.sw,
        };
        let mut last = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = last.as_ref() {
            if Arc::ptr_eq(&r.settings, settings)
                && r.mpesa == frame.mpesa
                && r.mpesa_down == frame.mpesa_down
                && r.packages == packages
            {
                return r.page.clone();
            }
        }
        let page = Shared::from(frame.index(packages, &super::pages::Chosen::default()));
        *last = Some(Rendered {
            settings: settings.clone(),
            mpesa: frame.mpesa,
            mpesa_down: frame.mpesa_down,
            packages: packages.to_vec(),
            page: page.clone(),
        });
        page
    }
}

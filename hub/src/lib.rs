//! `caiji-hub`: the college's hub. Today it shows the catalog of official tables; the store,
//! sync endpoint, review workflow, web screens and exports follow in later issues.

use caiji_shared::Catalog;
use caiji_shared::catalog::{SchemaErrors, render};

/// The text of `caiji-hub catalog`: the tables an academic year's plan is made from.
pub fn catalog_text() -> Result<String, SchemaErrors> {
    let catalog = Catalog::load_embedded()?;
    Ok(render::table_list(catalog.current()))
}

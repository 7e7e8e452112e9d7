//! Which column of a survey table holds what (I/O layer): `--columns
//! id=objectid,time=hmjd,...` and the `[columns]` config table, and the
//! usual names of ZTF, Rubin, Gaia, TESS/Kepler and tessera recognised
//! without a mapping. An unknown, missing or ambiguous name is a usage
//! error (exit 2) listing the columns found and a `--columns` line that
//! would work.

use std::collections::BTreeMap;

use crate::config::usage;
use crate::io::lcfile::Quantity;

/// The roles a column can play, with the names recognised for each
/// (compared without case). `err` has names for magnitudes and for fluxes,
/// and generic ones.
pub const ROLES: [&str; 9] = [
    "id", "time", "mag", "flux", "err", "band", "flags", "ra", "dec",
];

/// Names recognised as the right ascension and declination (degrees):
/// tessera, ZTF, Rubin, Gaia and LSDB all call them `ra` and `dec`.
pub const RA_NAMES: [&str; 1] = ["ra"];
/// See [`RA_NAMES`].
pub const DEC_NAMES: [&str; 1] = ["dec"];

/// Names recognised as the object id: tessera, ZTF, Rubin (DP0/DP1), Gaia,
/// TESS, Kepler, and generic.
pub const ID_NAMES: [&str; 9] = [
    "object_id",
    "objectid",
    "diaobjectid",
    "source_id",
    "ticid",
    "kepid",
    "oid",
    "objid",
    "id",
];
/// Names recognised as the observation time (days): tessera, ZTF (`hmjd`),
/// Rubin (`midpointMjdTai`), TESS/Kepler (`TIME`), IRSA (`mjd`), Gaia
/// epoch photometry (`g_transit_time`), generic.
pub const TIME_NAMES: [&str; 9] = [
    "time",
    "hmjd",
    "mjd",
    "midpointmjdtai",
    "bjd",
    "btjd",
    "jd",
    "g_transit_time",
    "obsmjd",
];
/// Names recognised as a magnitude.
pub const MAG_NAMES: [&str; 5] = ["mag", "magnitude", "psfmag", "g_transit_mag", "mag_auto"];
/// Names recognised as a flux: tessera, Rubin (`psfFlux`), TESS/Kepler
/// (`PDCSAP_FLUX`, `SAP_FLUX`), Gaia (`g_transit_flux`).
pub const FLUX_NAMES: [&str; 5] = [
    "flux",
    "psfflux",
    "pdcsap_flux",
    "sap_flux",
    "g_transit_flux",
];
/// Uncertainty names for magnitudes.
pub const MAG_ERR_NAMES: [&str; 6] = [
    "magerr",
    "mag_err",
    "e_mag",
    "sigmag",
    "psfmagerr",
    "magerr_auto",
];
/// Uncertainty names for fluxes.
pub const FLUX_ERR_NAMES: [&str; 7] = [
    "fluxerr",
    "flux_err",
    "e_flux",
    "psffluxerr",
    "pdcsap_flux_err",
    "sap_flux_err",
    "g_transit_flux_error",
];
/// Uncertainty names for either.
pub const ANY_ERR_NAMES: [&str; 4] = ["err", "error", "sigma", "uncertainty"];
/// Names recognised as the band: tessera and Rubin (`band`), ZTF
/// (`filtercode`, `fid`), generic.
pub const BAND_NAMES: [&str; 6] = [
    "band",
    "filtercode",
    "filter",
    "fid",
    "passband",
    "filtername",
];
/// Names recognised as quality flags: ZTF (`catflags`), TESS/Kepler
/// (`QUALITY`), generic.
pub const FLAG_NAMES: [&str; 4] = ["catflags", "quality", "flags", "flag"];

/// Column names given by the user, per role (`--columns` over the
/// `[columns]` table). An empty `id` means "no id column: one object per
/// file".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnSpec {
    /// Role -> column name, and where it was given (for messages).
    pub given: BTreeMap<String, (String, String)>,
    /// The HDU of a FITS table input holding the columns (`--hdu` / `hdu`);
    /// `None`: the first table HDU.
    pub fits_hdu: Option<crate::io::fits::FitsHdu>,
}

impl ColumnSpec {
    /// Parses `role=name,role=name` (from `source`, e.g. `--columns`).
    pub fn parse(text: &str, source: &str) -> anyhow::Result<ColumnSpec> {
        let mut spec = ColumnSpec::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((role, name)) = part.split_once('=') else {
                return Err(usage(format!(
                    "{source}: '{part}' is not role=column (roles: {})",
                    ROLES.join(", ")
                )));
            };
            spec.set(role.trim(), name.trim(), source)?;
        }
        Ok(spec)
    }

    /// Sets one role (a later call wins).
    pub fn set(&mut self, role: &str, name: &str, source: &str) -> anyhow::Result<()> {
        let role = role.to_ascii_lowercase();
        if !ROLES.contains(&role.as_str()) {
            return Err(usage(format!(
                "{source}: unknown column role '{role}' (roles: {})",
                ROLES.join(", ")
            )));
        }
        if name.is_empty() && role != "id" {
            return Err(usage(format!(
                "{source}: role '{role}' needs a column name (only id= may be empty: one object per file)"
            )));
        }
        self.given
            .insert(role, (name.to_string(), source.to_string()));
        Ok(())
    }

    /// The name given for `role`, with its source.
    fn get(&self, role: &str) -> Option<&(String, String)> {
        self.given.get(role)
    }
}

/// The columns of one table, resolved: names as they are in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    /// Object id column; `None`: the file is one object (named by its stem).
    pub id: Option<String>,
    /// Time, days.
    pub time: String,
    /// Magnitude or flux.
    pub value: String,
    /// Which of the two `value` is.
    pub quantity: Quantity,
    /// 1-sigma uncertainty of `value`.
    pub err: String,
    /// Band; `None`: one band called `all`.
    pub band: Option<String>,
    /// Quality flags; a point whose flags meet `reject_flags` is dropped.
    pub flags: Option<String>,
    /// Position columns carried to `/objects` (`ra`, `dec` in degrees, HATS's
    /// `_healpix_29`), when the table has them at its top level: one value
    /// per object, or per observation in a flat table (then averaged per
    /// object, see [`crate::io::table::mean_position`]).
    pub ra: Option<String>,
    /// See [`Mapping::ra`].
    pub dec: Option<String>,
    /// See [`Mapping::ra`].
    pub healpix29: Option<String>,
}

impl Mapping {
    /// The per-observation columns, in the order time, value, err, band, flags.
    pub fn observation_columns(&self) -> Vec<&str> {
        let mut c = vec![self.time.as_str(), self.value.as_str(), self.err.as_str()];
        c.extend(self.band.as_deref());
        c.extend(self.flags.as_deref());
        c
    }

    /// The `--columns` line that gives this mapping.
    pub fn columns_line(&self) -> String {
        let mut parts = vec![];
        if let Some(id) = &self.id {
            parts.push(format!("id={id}"));
        }
        parts.push(format!("time={}", self.time));
        parts.push(format!("{}={}", self.quantity.name(), self.value));
        parts.push(format!("err={}", self.err));
        if let Some(b) = &self.band {
            parts.push(format!("band={b}"));
        }
        if let Some(f) = &self.flags {
            parts.push(format!("flags={f}"));
        }
        format!("--columns {}", parts.join(","))
    }
}

/// Where each role is looked for: the id at the top level of the table,
/// the observation columns at the top level (flat and list-column tables)
/// or inside the nested structs (`observations`).
pub struct Found<'a> {
    /// The file or table, for messages.
    pub what: &'a str,
    /// Top-level column names.
    pub top: &'a [String],
    /// Names inside the nested observation structs, when the table has them.
    pub observations: Option<&'a [String]>,
}

/// The outcome of looking up one role.
enum Lookup {
    One(String),
    None,
    Many(Vec<String>),
}

fn lookup(names: &[String], candidates: &[&str]) -> Lookup {
    // in candidate order, so the suggestion uses the most specific name
    let mut hits: Vec<String> = Vec::new();
    for c in candidates {
        for n in names {
            if n.eq_ignore_ascii_case(c) && !hits.contains(n) {
                hits.push(n.clone());
            }
        }
    }
    match hits.len() {
        0 => Lookup::None,
        1 => Lookup::One(hits.remove(0)),
        _ => Lookup::Many(hits),
    }
}

/// Resolves the roles of a table's columns from `spec` and the usual names.
pub fn resolve(found: &Found, spec: &ColumnSpec) -> anyhow::Result<Mapping> {
    let obs: &[String] = found.observations.unwrap_or(found.top);
    let listing = |names: &[String]| names.join(", ");
    let all_found = || match found.observations {
        Some(o) => format!("{} (nested: {})", listing(found.top), listing(o)),
        None => listing(found.top),
    };
    // a given name must exist (exact case first, then without case)
    let given = |role: &str, names: &[String]| -> anyhow::Result<Option<Option<String>>> {
        let Some((name, source)) = spec.get(role) else {
            return Ok(None);
        };
        if name.is_empty() {
            return Ok(Some(None));
        }
        let hit = names
            .iter()
            .find(|n| *n == name)
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(name)));
        match hit {
            Some(h) => Ok(Some(Some(h.clone()))),
            None => Err(usage(format!(
                "{}: no column '{name}' (from {source}, role {role}); columns found: {}",
                found.what,
                all_found()
            ))),
        }
    };
    let problems = std::cell::RefCell::new(Vec::<String>::new());
    let pick =
        |role: &str, names: &[String], candidates: &[&str]| -> anyhow::Result<Option<String>> {
            if let Some(g) = given(role, names)? {
                return Ok(g);
            }
            Ok(match lookup(names, candidates) {
                Lookup::One(n) => Some(n),
                Lookup::None => None,
                Lookup::Many(m) => {
                    problems
                        .borrow_mut()
                        .push(format!("{role} could be any of {}", m.join(", ")));
                    Some(m[0].clone())
                }
            })
        };
    let id = pick("id", found.top, &ID_NAMES)?;
    let time = pick("time", obs, &TIME_NAMES)?;
    let mag = pick("mag", obs, &MAG_NAMES)?;
    let flux = pick("flux", obs, &FLUX_NAMES)?;
    let (value, quantity) = match (mag, flux, spec.get("mag"), spec.get("flux")) {
        (Some(m), _, Some(_), _) => (Some(m), Quantity::Mag),
        (_, Some(f), None, Some(_)) => (Some(f), Quantity::Flux),
        (Some(m), Some(f), None, None) => {
            problems.borrow_mut().push(format!(
                "both a magnitude ({m}) and a flux ({f}) column: say which with mag= or flux="
            ));
            (Some(m), Quantity::Mag)
        }
        (Some(m), None, _, _) => (Some(m), Quantity::Mag),
        (None, Some(f), _, _) => (Some(f), Quantity::Flux),
        (None, None, _, _) => (None, Quantity::Mag),
    };
    let err_names: Vec<&str> = match quantity {
        Quantity::Mag => MAG_ERR_NAMES
            .iter()
            .chain(&ANY_ERR_NAMES)
            .copied()
            .collect(),
        Quantity::Flux => FLUX_ERR_NAMES
            .iter()
            .chain(&ANY_ERR_NAMES)
            .copied()
            .collect(),
    };
    // the value column's own uncertainty (PDCSAP_FLUX_ERR beside
    // SAP_FLUX_ERR, mag_err) settles what the usual names leave ambiguous
    let own_err = value.as_ref().and_then(|v| {
        let own = [format!("{v}_err"), format!("{v}err"), format!("{v}_error")];
        obs.iter()
            .find(|n| own.iter().any(|o| n.eq_ignore_ascii_case(o)))
            .cloned()
    });
    let err = match own_err {
        Some(e) if spec.get("err").is_none() => Some(e),
        _ => pick("err", obs, &err_names)?,
    };
    let band = pick("band", obs, &BAND_NAMES)?;
    let flags = pick("flags", obs, &FLAG_NAMES)?;
    let ra = pick("ra", found.top, &RA_NAMES)?;
    let dec = pick("dec", found.top, &DEC_NAMES)?;
    let mut problems = problems.into_inner();
    if time.is_none() {
        problems.push(format!(
            "no time column (looked for {})",
            TIME_NAMES.join(", ")
        ));
    }
    if value.is_none() {
        problems.push(format!(
            "no magnitude or flux column (looked for {} and {})",
            MAG_NAMES.join(", "),
            FLUX_NAMES.join(", ")
        ));
    }
    if err.is_none() {
        problems.push(format!(
            "no uncertainty column (looked for {})",
            err_names.join(", ")
        ));
    }
    let guess = |s: &Option<String>, placeholder: &str| {
        s.clone().unwrap_or_else(|| placeholder.to_string())
    };
    let mapping = Mapping {
        id,
        time: guess(&time, "TIME_COLUMN"),
        value: guess(&value, "VALUE_COLUMN"),
        quantity,
        err: guess(&err, "ERR_COLUMN"),
        band,
        flags,
        ra,
        dec,
        healpix29: found.top.iter().find(|c| *c == "_healpix_29").cloned(),
    };
    if !problems.is_empty() {
        return Err(usage(format!(
            "{}: cannot tell which column is which: {}. Columns found: {}. Map them, for example: {}",
            found.what,
            problems.join("; "),
            all_found(),
            mapping.columns_line()
        )));
    }
    Ok(mapping)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<String> {
        s.split(',').map(String::from).collect()
    }

    #[test]
    fn survey_names_are_recognised() {
        let spec = ColumnSpec::default();
        let ztf = names("objectid,filterid,fieldid,hmjd,mag,magerr,filtercode,catflags,ra,dec");
        let m = resolve(
            &Found {
                what: "ztf",
                top: &ztf,
                observations: None,
            },
            &spec,
        )
        .unwrap();
        assert_eq!(m.id.as_deref(), Some("objectid"));
        assert_eq!(
            (m.time.as_str(), m.value.as_str(), m.err.as_str()),
            ("hmjd", "mag", "magerr")
        );
        assert_eq!(m.band.as_deref(), Some("filtercode"));
        assert_eq!(m.flags.as_deref(), Some("catflags"));
        let top = names("diaObjectId,ra,dec");
        let nested = names("midpointMjdTai,psfFlux,psfFluxErr,band");
        let m = resolve(
            &Found {
                what: "rubin",
                top: &top,
                observations: Some(&nested),
            },
            &spec,
        )
        .unwrap();
        assert_eq!(m.id.as_deref(), Some("diaObjectId"));
        assert_eq!(m.quantity, Quantity::Flux);
        assert_eq!(
            (m.value.as_str(), m.err.as_str()),
            ("psfFlux", "psfFluxErr")
        );
        let tess = names("TIME,SAP_FLUX,SAP_FLUX_ERR,PDCSAP_FLUX,PDCSAP_FLUX_ERR,QUALITY");
        let e = resolve(
            &Found {
                what: "tess.fits",
                top: &tess,
                observations: None,
            },
            &spec,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("flux could be any of PDCSAP_FLUX, SAP_FLUX"),
            "{e}"
        );
        assert!(e.contains("--columns time=TIME,flux=PDCSAP_FLUX"), "{e}");
        // naming the flux picks its own uncertainty among the two
        let spec = ColumnSpec::parse("flux=PDCSAP_FLUX", "--columns").unwrap();
        let m = resolve(
            &Found {
                what: "tess.fits",
                top: &tess,
                observations: None,
            },
            &spec,
        )
        .unwrap();
        assert_eq!(
            (m.value.as_str(), m.err.as_str(), m.flags.as_deref()),
            ("PDCSAP_FLUX", "PDCSAP_FLUX_ERR", Some("QUALITY"))
        );
        let spec = ColumnSpec::parse("flux=SAP_FLUX", "--columns").unwrap();
        let m = resolve(
            &Found {
                what: "tess.fits",
                top: &tess,
                observations: None,
            },
            &spec,
        )
        .unwrap();
        assert_eq!(m.err, "SAP_FLUX_ERR");
    }

    #[test]
    fn unknown_missing_and_ambiguous_names_are_usage_errors() {
        let cols = names("mjd,mag,magerr,filtercode");
        let spec = ColumnSpec::parse("time=hmjd", "--columns").unwrap();
        let e = resolve(
            &Found {
                what: "a.csv",
                top: &cols,
                observations: None,
            },
            &spec,
        )
        .unwrap_err();
        assert!(e.downcast_ref::<crate::config::UsageError>().is_some());
        let e = e.to_string();
        assert!(e.contains("a.csv: no column 'hmjd' (from --columns"), "{e}");
        assert!(
            e.contains("columns found: mjd, mag, magerr, filtercode"),
            "{e}"
        );
        let cols = names("t,brightness,magerr");
        let e = resolve(
            &Found {
                what: "b.csv",
                top: &cols,
                observations: None,
            },
            &ColumnSpec::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("no time column") && e.contains("no magnitude or flux column"),
            "{e}"
        );
        assert!(
            e.contains("--columns time=TIME_COLUMN,mag=VALUE_COLUMN,err=magerr"),
            "{e}"
        );
        let cols = names("time,mag,flux,magerr,fluxerr");
        let e = resolve(
            &Found {
                what: "c",
                top: &cols,
                observations: None,
            },
            &ColumnSpec::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("both a magnitude (mag) and a flux (flux)"),
            "{e}"
        );
        assert!(ColumnSpec::parse("colour=g", "--columns").is_err());
        assert!(ColumnSpec::parse("time", "--columns").is_err());
        assert!(ColumnSpec::parse("id=", "--columns").is_ok());
    }
}

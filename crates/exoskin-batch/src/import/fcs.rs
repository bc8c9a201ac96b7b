//! Flow Cytometry Standard files, FCS 3.0/3.1 (Spidlen J, Moore W, Parks D, et al. "Data File
//! Standard for Flow Cytometry, version FCS 3.1". Cytometry A 77A (2010) 97-100,
//! doi:10.1002/cyto.a.20825), list mode.
//!
//! HEADER: `FCS3.1`, four spaces, then six ASCII offsets right-justified in 8-byte fields
//! (TEXT begin/end, DATA begin/end, ANALYSIS begin/end; byte offsets from the file start,
//! end inclusive; DATA offsets of 0 mean "see `$BEGINDATA`/`$ENDDATA`"). TEXT: its first byte
//! is the delimiter; keywords and values alternate, separated by it; a delimiter inside a
//! keyword or value is written twice (so values are never empty); keywords are
//! case-insensitive. Used here: `$BYTEORD` (`1,2,3,4` little-endian, `4,3,2,1` big-endian),
//! `$DATATYPE` (`I` unsigned integers of `$PnB` bits, `F` 32-bit and `D` 64-bit IEEE
//! floats), `$MODE` (`L`), `$PAR`, `$TOT`, `$PnN` (name), `$PnS` (label), `$PnB`, `$PnR`,
//! `$PnE` (`f1,f2`: with f1 > 0 a log scale, value = f2 * 10^(f1 * channel / $PnR), f2 = 0
//! read as 1), `$PnG` (gain of a linear parameter: value = channel / gain),
//! `$PnCALIBRATION` (`f,unit`: one scale unit is f units), `$VOL` (sample volume analysed,
//! nL), `$CYT`, and `$BEGINSTEXT`/`$ENDSTEXT` (supplemental TEXT, read like TEXT).
//!
//! The particle size is the scale value of one parameter (`--size-channel`, else the first
//! whose `$PnN` or `$PnS` says "size") times nm per unit (`--size-nm-per-unit`, else its
//! `$PnCALIBRATION` in nm or µm, else 1 when its name says `nm`). Events with a size that is
//! not a positive number (noise, saturation) are left out. The concentration is the sized
//! events over the volume analysed (`--volume-nl`, else `$VOL`).
use super::dist::Distribution;
use super::{ImportError, Options, Parsed, Replicate};
use std::collections::BTreeMap;

/// The most parameters a file may have (bounds the work per event).
pub const MAX_PAR: usize = 1000;
/// Sizes above this are taken for a calibration error (nm).
pub const MAX_SIZE_NM: f64 = 100_000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    I,
    F,
    D,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub label: Option<String>,
    pub bits: usize,
    pub range: f64,
    /// `$PnE` (f1, f2).
    pub log: (f64, f64),
    pub gain: Option<f64>,
    pub calibration: Option<String>,
}

/// A parsed FCS file: its keywords, parameters and DATA segment.
#[derive(Debug, Clone)]
pub struct FcsData {
    pub version: String,
    pub keywords: BTreeMap<String, String>,
    pub params: Vec<Param>,
    pub tot: usize,
    pub datatype: DataType,
    pub big_endian: bool,
    data: Vec<u8>,
    offsets: Vec<usize>,
    event_bytes: usize,
}

impl FcsData {
    /// The value as stored (channel value) of `param` in `event`.
    pub fn raw(&self, event: usize, param: usize) -> f64 {
        let start = event * self.event_bytes + self.offsets[param];
        let bytes = &self.data[start..start + self.params[param].bits / 8];
        let mut b = [0u8; 8];
        let n = bytes.len();
        if self.big_endian {
            b[8 - n..].copy_from_slice(bytes);
        } else {
            b[..n].copy_from_slice(bytes);
        }
        match self.datatype {
            DataType::F => {
                let w = if self.big_endian {
                    [b[4], b[5], b[6], b[7]]
                } else {
                    [b[0], b[1], b[2], b[3]]
                };
                if self.big_endian {
                    f32::from_be_bytes(w) as f64
                } else {
                    f32::from_le_bytes(w) as f64
                }
            }
            DataType::D => {
                if self.big_endian {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }
            }
            DataType::I => {
                if self.big_endian {
                    u64::from_be_bytes(b) as f64
                } else {
                    u64::from_le_bytes(b) as f64
                }
            }
        }
    }

    /// The scale value: `$PnE` log amplification or `$PnG` gain applied.
    pub fn scale(&self, event: usize, param: usize) -> f64 {
        let p = &self.params[param];
        let x = self.raw(event, param);
        let (f1, f2) = p.log;
        if f1 > 0.0 {
            let f2 = if f2 == 0.0 { 1.0 } else { f2 };
            f2 * 10f64.powf(f1 * x / p.range)
        } else if let Some(g) = p.gain {
            x / g
        } else {
            x
        }
    }

    /// `nFCM` for a nanoFCM instrument (by `$CYT`), else `flow cytometry`.
    pub fn method(&self) -> String {
        let cyt = self
            .keywords
            .get("$CYT")
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default();
        if cyt.contains("nanofcm") || cyt.contains("nanoanalyzer") || cyt.contains("nfcm") {
            "nFCM".into()
        } else {
            "flow cytometry".into()
        }
    }

    /// Every event's values as stored, parameter by parameter: for `--dump-events`.
    pub fn events_json(&self) -> serde_json::Value {
        let names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
        let events: Vec<Vec<f64>> = (0..self.tot)
            .map(|e| (0..self.params.len()).map(|p| self.raw(e, p)).collect())
            .collect();
        serde_json::json!({"version": self.version, "parameters": names, "tot": self.tot, "events": events})
    }
}

fn fcs_err(file: &str, offset: usize, message: impl Into<String>) -> ImportError {
    ImportError::Fcs {
        file: file.into(),
        offset,
        message: message.into(),
    }
}

fn field_err(file: &str, field: &str, message: impl Into<String>) -> ImportError {
    ImportError::Field {
        file: file.into(),
        field: field.into(),
        message: message.into(),
    }
}

/// Keyword/value pairs of a TEXT segment `bytes[begin..=end]`.
fn read_text(
    bytes: &[u8],
    begin: usize,
    end: usize,
    file: &str,
    into: &mut BTreeMap<String, String>,
) -> Result<(), ImportError> {
    let delim = bytes[begin];
    if delim == 0 || delim >= 127 {
        return Err(fcs_err(
            file,
            begin,
            format!("TEXT delimiter byte {delim} is not an ASCII character 1-126"),
        ));
    }
    let mut tokens: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut cur = Vec::new();
    let mut cur_at = begin + 1;
    let mut i = begin + 1;
    while i <= end {
        let b = bytes[i];
        if b == delim {
            if i < end && bytes[i + 1] == delim {
                cur.push(delim); // an escaped delimiter
                i += 2;
                continue;
            }
            tokens.push((cur_at, std::mem::take(&mut cur)));
            i += 1;
            cur_at = i;
        } else {
            cur.push(b);
            i += 1;
        }
    }
    if !cur.is_empty() {
        return Err(fcs_err(file, end, "TEXT does not end with its delimiter"));
    }
    if !tokens.len().is_multiple_of(2) {
        let (at, last) = tokens.last().cloned().unwrap_or_default();
        return Err(fcs_err(
            file,
            at,
            format!(
                "keyword `{}` has no value (TEXT holds an odd number of fields)",
                String::from_utf8_lossy(&last)
            ),
        ));
    }
    for pair in tokens.chunks(2) {
        let (at, k) = &pair[0];
        let key = String::from_utf8(k.clone())
            .map_err(|_| fcs_err(file, *at, "a keyword is not UTF-8 text"))?
            .trim()
            .to_ascii_uppercase();
        if key.is_empty() {
            return Err(fcs_err(file, *at, "an empty keyword"));
        }
        let value = String::from_utf8_lossy(&pair[1].1).into_owned();
        if into.insert(key.clone(), value).is_some() {
            return Err(fcs_err(file, *at, format!("keyword {key} appears twice")));
        }
    }
    Ok(())
}

fn offset_field(bytes: &[u8], at: usize, file: &str, what: &str) -> Result<usize, ImportError> {
    let s = std::str::from_utf8(&bytes[at..at + 8])
        .map_err(|_| fcs_err(file, at, format!("HEADER {what} offset is not ASCII")))?
        .trim();
    if s.is_empty() {
        return Ok(0);
    }
    s.parse().map_err(|_| {
        fcs_err(
            file,
            at,
            format!("HEADER {what} offset `{s}` is not a whole number"),
        )
    })
}

fn kw<'a>(k: &'a BTreeMap<String, String>, key: &str, file: &str) -> Result<&'a str, ImportError> {
    k.get(key)
        .map(|s| s.trim())
        .ok_or_else(|| field_err(file, key, "required keyword missing"))
}

fn kw_num(k: &BTreeMap<String, String>, key: &str, file: &str) -> Result<f64, ImportError> {
    let v = kw(k, key, file)?;
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| field_err(file, key, format!("`{v}` is not a number")))
}

fn kw_usize(k: &BTreeMap<String, String>, key: &str, file: &str) -> Result<usize, ImportError> {
    let v = kw(k, key, file)?;
    v.parse::<usize>()
        .map_err(|_| field_err(file, key, format!("`{v}` is not a whole number >= 0")))
}

/// The HEADER's fields: version and segment offsets.
struct Header {
    version: String,
    text_begin: usize,
    text_end: usize,
    data_begin: usize,
    data_end: usize,
}

/// Read the structure of an FCS file (no statistics).
pub fn read(bytes: &[u8], file: &str) -> Result<FcsData, ImportError> {
    let h = read_header(bytes, file)?;
    let k = read_keywords(bytes, h.text_begin, h.text_end, file)?;
    let (data_begin, data_end) = data_offsets(&k, h.data_begin, h.data_end, file)?;
    let (datatype, big_endian) = read_format(&k, file)?;
    let par = param_count(&k, file)?;
    let tot = kw_usize(&k, "$TOT", file)?;
    let (params, offsets, event_bytes) = read_params(&k, par, datatype, file)?;
    let data = read_data(bytes, data_begin, data_end, tot, event_bytes, file)?;
    Ok(FcsData {
        version: h.version,
        keywords: k,
        params,
        tot,
        datatype,
        big_endian,
        data,
        offsets,
        event_bytes,
    })
}

/// The HEADER: version and the TEXT and DATA offsets, TEXT checked to lie in the file.
fn read_header(bytes: &[u8], file: &str) -> Result<Header, ImportError> {
    if bytes.len() < 58 {
        return Err(fcs_err(
            file,
            bytes.len(),
            "shorter than the 58-byte FCS HEADER",
        ));
    }
    let version = String::from_utf8_lossy(&bytes[0..6]).into_owned();
    if !matches!(version.as_str(), "FCS3.0" | "FCS3.1" | "FCS3.2") {
        return Err(fcs_err(
            file,
            0,
            format!("version `{version}`: FCS 3.0, 3.1 or 3.2 expected"),
        ));
    }
    let text_begin = offset_field(bytes, 10, file, "TEXT begin")?;
    let text_end = offset_field(bytes, 18, file, "TEXT end")?;
    let data_begin = offset_field(bytes, 26, file, "DATA begin")?;
    let data_end = offset_field(bytes, 34, file, "DATA end")?;
    if text_begin < 58 || text_end <= text_begin || text_end >= bytes.len() {
        return Err(fcs_err(
            file,
            10,
            format!("TEXT segment {text_begin}..={text_end} lies outside the file's {} bytes (or inside the HEADER)", bytes.len()),
        ));
    }
    Ok(Header {
        version,
        text_begin,
        text_end,
        data_begin,
        data_end,
    })
}

/// The keywords of the TEXT segment and of the supplemental TEXT, if any.
fn read_keywords(
    bytes: &[u8],
    text_begin: usize,
    text_end: usize,
    file: &str,
) -> Result<BTreeMap<String, String>, ImportError> {
    let mut k = BTreeMap::new();
    read_text(bytes, text_begin, text_end, file, &mut k)?;
    let stext = (
        k.get("$BEGINSTEXT")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0),
        k.get("$ENDSTEXT")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0),
    );
    if stext.0 > 0 && stext.1 > stext.0 {
        if stext.1 >= bytes.len() {
            return Err(field_err(
                file,
                "$ENDSTEXT",
                format!(
                    "{} lies past the end of the file ({} bytes)",
                    stext.1,
                    bytes.len()
                ),
            ));
        }
        read_text(bytes, stext.0, stext.1, file, &mut k)?;
    }
    Ok(k)
}

/// The DATA offsets: the HEADER's, or `$BEGINDATA`/`$ENDDATA` when both are 0 there.
fn data_offsets(
    k: &BTreeMap<String, String>,
    data_begin: usize,
    data_end: usize,
    file: &str,
) -> Result<(usize, usize), ImportError> {
    if data_begin == 0 && data_end == 0 {
        return Ok((
            kw_usize(k, "$BEGINDATA", file)?,
            kw_usize(k, "$ENDDATA", file)?,
        ));
    }
    Ok((data_begin, data_end))
}

/// `$MODE` (list mode only), `$DATATYPE` and `$BYTEORD` (true for big-endian).
fn read_format(k: &BTreeMap<String, String>, file: &str) -> Result<(DataType, bool), ImportError> {
    let mode = kw(k, "$MODE", file).unwrap_or("L");
    if !mode.eq_ignore_ascii_case("L") {
        return Err(field_err(
            file,
            "$MODE",
            format!("`{mode}`: only list mode (L) is read"),
        ));
    }
    let datatype = match kw(k, "$DATATYPE", file)?.to_ascii_uppercase().as_str() {
        "I" => DataType::I,
        "F" => DataType::F,
        "D" => DataType::D,
        other => {
            return Err(field_err(
                file,
                "$DATATYPE",
                format!("`{other}`: allowed I, F, D (ASCII data is not read)"),
            ))
        }
    };
    let order = kw(k, "$BYTEORD", file)?.replace(' ', "");
    let big_endian = match order.as_str() {
        "1,2,3,4" | "1,2" | "1,2,3,4,5,6,7,8" => false,
        "4,3,2,1" | "2,1" | "8,7,6,5,4,3,2,1" => true,
        other => {
            return Err(field_err(
                file,
                "$BYTEORD",
                format!(
                    "`{other}`: FCS 3.1 allows 1,2,3,4 (little-endian) or 4,3,2,1 (big-endian)"
                ),
            ))
        }
    };
    Ok((datatype, big_endian))
}

/// `$PAR`, checked to be 1 to [`MAX_PAR`].
fn param_count(k: &BTreeMap<String, String>, file: &str) -> Result<usize, ImportError> {
    let par = kw_usize(k, "$PAR", file)?;
    if par == 0 || par > MAX_PAR {
        return Err(field_err(
            file,
            "$PAR",
            format!("{par} parameters; 1 to {MAX_PAR} are read"),
        ));
    }
    Ok(par)
}

/// The `par` parameters, each one's byte offset within an event, and the bytes per event.
fn read_params(
    k: &BTreeMap<String, String>,
    par: usize,
    datatype: DataType,
    file: &str,
) -> Result<(Vec<Param>, Vec<usize>, usize), ImportError> {
    let mut params = Vec::with_capacity(par);
    let mut offsets = Vec::with_capacity(par);
    let mut event_bits = 0usize;
    for n in 1..=par {
        let p = read_param(k, n, datatype, file)?;
        offsets.push(event_bits / 8);
        event_bits += p.bits;
        params.push(p);
    }
    Ok((params, offsets, event_bits / 8))
}

/// Parameter `n`'s `$PnN`, `$PnB`, `$PnR`, `$PnE`, `$PnG`, `$PnS` and `$PnCALIBRATION`.
fn read_param(
    k: &BTreeMap<String, String>,
    n: usize,
    datatype: DataType,
    file: &str,
) -> Result<Param, ImportError> {
    let name = kw(k, &format!("$P{n}N"), file)?.to_string();
    let bkey = format!("$P{n}B");
    let bits = kw_usize(k, &bkey, file)?;
    let ok = match datatype {
        DataType::F => bits == 32,
        DataType::D => bits == 64,
        DataType::I => matches!(bits, 8 | 16 | 32 | 64),
    };
    if !ok {
        return Err(field_err(file, &bkey, format!("{bits} bits does not fit $DATATYPE {datatype:?} (F: 32, D: 64, I: 8, 16, 32 or 64)")));
    }
    let rkey = format!("$P{n}R");
    let range = kw_num(k, &rkey, file)?;
    if range <= 0.0 {
        return Err(field_err(
            file,
            &rkey,
            format!("{range}: the range must be > 0"),
        ));
    }
    let ekey = format!("$P{n}E");
    let log = match k.get(&ekey) {
        None => (0.0, 0.0),
        Some(v) => {
            let parts: Vec<f64> = v.split(',').filter_map(|x| x.trim().parse().ok()).collect();
            if parts.len() != 2 || parts.iter().any(|x| !x.is_finite() || *x < 0.0) {
                return Err(field_err(
                    file,
                    &ekey,
                    format!("`{v}` is not `f1,f2` with two numbers >= 0"),
                ));
            }
            (parts[0], parts[1])
        }
    };
    if log.0 > 0.0 && datatype != DataType::I {
        return Err(field_err(file, &ekey, format!("log amplification `{},{}` with floating-point data; FCS 3.1 requires 0,0 for $DATATYPE F and D", log.0, log.1)));
    }
    let gkey = format!("$P{n}G");
    let gain = match k.get(&gkey) {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|g| g.is_finite() && *g > 0.0)
                .ok_or_else(|| field_err(file, &gkey, format!("`{v}` is not a gain > 0")))?,
        ),
    };
    Ok(Param {
        name,
        label: k.get(&format!("$P{n}S")).map(|s| s.trim().to_string()),
        bits,
        range,
        log,
        gain,
        calibration: k
            .get(&format!("$P{n}CALIBRATION"))
            .map(|s| s.trim().to_string()),
    })
}

/// The DATA segment's `tot` events, checked to lie in the file and to be long enough.
fn read_data(
    bytes: &[u8],
    data_begin: usize,
    data_end: usize,
    tot: usize,
    event_bytes: usize,
    file: &str,
) -> Result<Vec<u8>, ImportError> {
    let need = tot.checked_mul(event_bytes).ok_or_else(|| {
        field_err(
            file,
            "$TOT",
            format!("{tot} events of {event_bytes} bytes overflow"),
        )
    })?;
    if tot > 0 && (data_end < data_begin || data_end >= bytes.len() || data_begin < 58) {
        return Err(fcs_err(
            file,
            26,
            format!(
                "DATA segment {data_begin}..={data_end} lies outside the file's {} bytes",
                bytes.len()
            ),
        ));
    }
    let have = if tot == 0 {
        0
    } else {
        data_end - data_begin + 1
    };
    if have < need {
        return Err(fcs_err(
            file,
            data_begin,
            format!("DATA holds {have} bytes but $TOT {tot} events of {event_bytes} bytes ($PnB) need {need}"),
        ));
    }
    Ok(if tot == 0 {
        Vec::new()
    } else {
        bytes[data_begin..data_begin + need].to_vec()
    })
}

/// The size parameter's index and nm per scale unit.
fn size_param(f: &FcsData, file: &str, opts: &Options) -> Result<(usize, f64), ImportError> {
    let names = || {
        f.params
            .iter()
            .map(|p| match &p.label {
                Some(l) => format!("{} ({l})", p.name),
                None => p.name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let idx = match &opts.size_channel {
        Some(want) => f
            .params
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(want) || p.label.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(want)))
            .ok_or_else(|| ImportError::option("size-channel", format!("no parameter named `{want}` in {file}; its parameters: {}", names())))?,
        None => f
            .params
            .iter()
            .position(|p| {
                p.name.to_ascii_lowercase().contains("size")
                    || p.label.as_deref().is_some_and(|l| l.to_ascii_lowercase().contains("size"))
            })
            .ok_or_else(|| {
                ImportError::option("size-channel", format!("no parameter of {file} is named for size; give --size-channel NAME (its parameters: {})", names()))
            })?,
    };
    let p = &f.params[idx];
    let field = format!("$P{}CALIBRATION", idx + 1);
    let factor = match (opts.size_nm_per_unit, &p.calibration) {
        (Some(x), _) => x,
        (None, Some(cal)) => {
            let parts: Vec<&str> = cal.split(',').map(str::trim).collect();
            let f = (parts.len() == 2)
                .then(|| parts[0].parse::<f64>().ok())
                .flatten()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    field_err(
                        file,
                        &field,
                        format!("`{cal}` is not `f,unit` with f > 0; give --size-nm-per-unit"),
                    )
                })?;
            match parts[1].to_ascii_lowercase().as_str() {
                "nm" => f,
                "um" | "µm" | "μm" => f * 1000.0,
                other => {
                    return Err(field_err(file, &field, format!("calibrated in `{other}`, not a length in nm or µm; give --size-nm-per-unit")))
                }
            }
        }
        (None, None) => {
            let says_nm = |s: &str| s.to_ascii_lowercase().contains("nm");
            if says_nm(&p.name) || p.label.as_deref().is_some_and(says_nm) {
                1.0
            } else {
                return Err(ImportError::option(
                    "size-nm-per-unit",
                    format!("parameter `{}` of {file} has no {field} and its name does not say nm; give --size-nm-per-unit F", p.name),
                ));
            }
        }
    };
    Ok((idx, factor))
}

pub fn parse(bytes: &[u8], file: &str, opts: &Options) -> Result<Parsed, ImportError> {
    let f = read(bytes, file)?;
    let (idx, nm_per_unit) = size_param(&f, file, opts)?;
    let volume_nl = match opts.volume_nl {
        Some(v) => v,
        None => {
            if !f.keywords.contains_key("$VOL") {
                return Err(ImportError::option(
                    "volume-nl",
                    format!("{file} has no $VOL (sample volume analysed, nL): give --volume-nl V for the concentration"),
                ));
            }
            let v = kw_num(&f.keywords, "$VOL", file)?;
            if v <= 0.0 {
                return Err(field_err(
                    file,
                    "$VOL",
                    format!("{v} nL: the volume analysed must be > 0"),
                ));
            }
            v
        }
    };
    let mut sizes = Vec::with_capacity(f.tot);
    for e in 0..f.tot {
        let s = f.scale(e, idx) * nm_per_unit;
        if s.is_finite() && s > 0.0 {
            if s > MAX_SIZE_NM {
                return Err(ImportError::option(
                    "size-nm-per-unit",
                    format!("event {} of {file} sizes to {s:.0} nm (over {MAX_SIZE_NM} nm): the size calibration is wrong", e + 1),
                ));
            }
            sizes.push(s);
        }
    }
    if sizes.is_empty() {
        return Err(field_err(
            file,
            &format!("$P{}N", idx + 1),
            format!("no event of {} has a positive size", f.tot),
        ));
    }
    let max = sizes.iter().cloned().fold(0.0, f64::max);
    let nbins = (max.floor() as usize + 1).max(2);
    let mut counts = vec![0.0; nbins];
    for s in &sizes {
        counts[(s.floor() as usize).min(nbins - 1)] += 1.0;
    }
    let centres: Vec<f64> = (0..nbins).map(|i| i as f64 + 0.5).collect();
    let dist = Distribution::new(centres, counts, file)?;
    // 1 nL = 1e-6 mL.
    let conc = sizes.len() as f64 / (volume_nl * 1e-6);
    let mut reported = BTreeMap::new();
    reported.insert("events".into(), f.tot as f64);
    reported.insert("sized events".into(), sizes.len() as f64);
    reported.insert("volume (nL)".into(), volume_nl);
    Ok(Parsed {
        file: file.into(),
        format: super::Format::Fcs,
        replicates: vec![Replicate {
            label: "acquisition".into(),
            dist,
            concentration_per_ml: conc,
            events: Some(sizes.len() as u64),
        }],
        dilution_in_file: None,
        reported,
        fcs: Some(f),
    })
}

/// Write an FCS 3.1 file (list mode) from keywords and events: for tests and the sample
/// generator's counterpart. `values[e][p]` are stored as `datatype` in the byte order given.
#[doc(hidden)]
pub fn write(
    delim: u8,
    keywords: &[(String, String)],
    datatype: DataType,
    bits: &[usize],
    big_endian: bool,
    values: &[Vec<f64>],
) -> Vec<u8> {
    let mut data = Vec::new();
    for ev in values {
        for (v, b) in ev.iter().zip(bits) {
            let mut bytes: Vec<u8> = match datatype {
                DataType::F => (*v as f32).to_le_bytes().to_vec(),
                DataType::D => v.to_le_bytes().to_vec(),
                DataType::I => (*v as u64).to_le_bytes()[..b / 8].to_vec(),
            };
            if big_endian {
                bytes.reverse();
            }
            data.extend(bytes);
        }
    }
    let esc = |s: &str| {
        let d = delim as char;
        s.replace(d, &format!("{d}{d}"))
    };
    let mut body = String::new();
    for (k, v) in keywords {
        body.push_str(&format!("{}{}{}", esc(k), delim as char, esc(v)));
        body.push(delim as char);
    }
    // The DATA offsets are written into TEXT too; their width is fixed (20 digits) so the
    // TEXT length does not depend on them.
    let fixed = format!(
        "$BEGINDATA{d}{:020}{d}$ENDDATA{d}{:020}{d}",
        0,
        0,
        d = delim as char
    );
    let text_len = 1 + body.len() + fixed.len();
    let text_begin = 58;
    let text_end = text_begin + text_len - 1;
    let data_begin = text_end + 1;
    let data_end = data_begin + data.len() - 1;
    let fixed = format!(
        "$BEGINDATA{d}{:020}{d}$ENDDATA{d}{:020}{d}",
        data_begin,
        data_end,
        d = delim as char
    );
    let mut out = Vec::new();
    out.extend(b"FCS3.1    ");
    for v in [text_begin, text_end, data_begin, data_end, 0, 0] {
        out.extend(format!("{v:>8}").as_bytes());
    }
    out.push(delim);
    out.extend(body.as_bytes());
    out.extend(fixed.as_bytes());
    out.extend(&data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kws(
        par: &[(&str, &str)],
        extra: &[(&str, &str)],
        tot: usize,
        dt: &str,
        order: &str,
    ) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = vec![
            ("$BYTEORD".into(), order.into()),
            ("$DATATYPE".into(), dt.into()),
            ("$MODE".into(), "L".into()),
            ("$NEXTDATA".into(), "0".into()),
            ("$PAR".into(), par.len().to_string()),
            ("$TOT".into(), tot.to_string()),
        ];
        for (i, (n, b)) in par.iter().enumerate() {
            let i = i + 1;
            v.push((format!("$P{i}N"), n.to_string()));
            v.push((format!("$P{i}B"), b.to_string()));
            v.push((format!("$P{i}R"), "1024".into()));
            if !extra.iter().any(|(k, _)| *k == format!("$P{i}E")) {
                v.push((format!("$P{i}E"), "0,0".into()));
            }
        }
        for (k, x) in extra {
            v.push((k.to_string(), x.to_string()));
        }
        v
    }

    fn events() -> Vec<Vec<f64>> {
        // Sizes 50, 70, 70, 90, 90, 90, 90, 110, 110, 110 nm (in bins 50, 70, 90, 110).
        [
            50.2, 70.1, 70.9, 90.0, 90.5, 90.7, 90.9, 110.1, 110.4, 110.8,
        ]
        .iter()
        .enumerate()
        .map(|(i, s)| vec![*s, (i * 3) as f64])
        .collect()
    }

    fn opts() -> Options {
        Options::default()
    }

    #[test]
    fn float_data_both_byte_orders_and_escaped_delimiters() {
        for (order, be) in [("1,2,3,4", false), ("4,3,2,1", true)] {
            let k = kws(
                &[("Size (nm)", "32"), ("SS/C", "32")],
                &[
                    ("$VOL", "2"),
                    ("$CYT", "NanoFCM Flow NanoAnalyzer"),
                    ("$COM", "a/b//c"),
                ],
                10,
                "F",
                order,
            );
            let bytes = write(b'/', &k, DataType::F, &[32, 32], be, &events());
            let p = parse(&bytes, "t.fcs", &opts()).unwrap();
            let f = p.fcs.as_ref().unwrap();
            assert_eq!(f.big_endian, be);
            assert_eq!(
                f.params[1].name, "SS/C",
                "an escaped delimiter in a parameter name"
            );
            assert_eq!(
                f.keywords["$COM"], "a/b//c",
                "doubled delimiters read back as written"
            );
            assert_eq!(f.raw(3, 0), 90.0f32 as f64);
            assert_eq!(f.raw(9, 1), 27.0);
            assert_eq!(f.method(), "nFCM");
            let r = &p.replicates[0];
            assert_eq!(r.events, Some(10));
            // 10 events in 2 nL = 2e-6 mL: 5e6 per mL.
            assert!((r.concentration_per_ml - 5.0e6).abs() < 1e-6);
            assert_eq!(r.dist.mode(), 90.5);
        }
    }

    #[test]
    fn integer_and_double_data_with_gain_log_and_calibration() {
        let k = kws(
            &[("FSC-H", "16"), ("SSC-H", "16")],
            &[("$VOL", "1"), ("$P1CALIBRATION", "0.5,nm"), ("$P2G", "4")],
            10,
            "I",
            "4,3,2,1",
        );
        let ev: Vec<Vec<f64>> = events()
            .iter()
            .map(|e| vec![(e[0] * 2.0).round(), e[1]])
            .collect();
        let bytes = write(b'|', &k, DataType::I, &[16, 16], true, &ev);
        let o = Options {
            size_channel: Some("fsc-h".into()),
            ..Options::default()
        };
        let p = parse(&bytes, "i.fcs", &o).unwrap();
        let f = p.fcs.as_ref().unwrap();
        assert_eq!(f.raw(0, 0), 100.0);
        assert_eq!(f.scale(9, 1), 27.0 / 4.0, "$PnG divides");
        assert!((p.replicates[0].dist.percentile(0.5) - 90.5).abs() < 1.0);
        // Log amplification on integer data: 10^(f1 x / r) * f2.
        let k = kws(
            &[("Size", "16")],
            &[("$VOL", "1"), ("$P1E", "4,1")],
            1,
            "I",
            "1,2,3,4",
        );
        let bytes = write(b'/', &k, DataType::I, &[16], false, &[vec![512.0]]);
        let f = read(&bytes, "l.fcs").unwrap();
        assert!(
            (f.scale(0, 0) - 100.0).abs() < 1e-9,
            "10^(4*512/1024) = 100"
        );
        // Doubles.
        let k = kws(&[("Size nm", "64")], &[("$VOL", "1")], 10, "D", "1,2,3,4");
        let bytes = write(
            b'/',
            &k,
            DataType::D,
            &[64],
            false,
            &events().iter().map(|e| vec![e[0]]).collect::<Vec<_>>(),
        );
        let p = parse(&bytes, "d.fcs", &opts()).unwrap();
        assert_eq!(p.fcs.as_ref().unwrap().raw(1, 0), 70.1);
    }

    #[test]
    fn broken_files_say_where() {
        let k = kws(&[("Size (nm)", "32")], &[("$VOL", "2")], 10, "F", "1,2,3,4");
        let good = write(
            b'/',
            &k,
            DataType::F,
            &[32],
            false,
            &events().iter().map(|e| vec![e[0]]).collect::<Vec<_>>(),
        );
        // Truncated DATA.
        let e = parse(&good[..good.len() - 4], "t.fcs", &opts())
            .unwrap_err()
            .to_string();
        assert!(e.contains("byte") && e.contains("lies outside"), "{e}");
        // Wrong byte order keyword.
        let bad = kws(&[("Size (nm)", "32")], &[("$VOL", "2")], 10, "F", "2,1,4,3");
        let b = write(
            b'/',
            &bad,
            DataType::F,
            &[32],
            false,
            &events().iter().map(|e| vec![e[0]]).collect::<Vec<_>>(),
        );
        let e = parse(&b, "t.fcs", &opts()).unwrap_err().to_string();
        assert!(e.contains("$BYTEORD"), "{e}");
        // No $VOL and no --volume-nl.
        let nv = kws(&[("Size (nm)", "32")], &[], 10, "F", "1,2,3,4");
        let b = write(
            b'/',
            &nv,
            DataType::F,
            &[32],
            false,
            &events().iter().map(|e| vec![e[0]]).collect::<Vec<_>>(),
        );
        let e = parse(&b, "t.fcs", &opts()).unwrap_err().to_string();
        assert!(e.contains("--volume-nl"), "{e}");
        // A bad HEADER offset.
        let mut h = good.clone();
        h[20] = b'x';
        let e = parse(&h, "t.fcs", &opts()).unwrap_err().to_string();
        assert!(e.contains("byte 18") && e.contains("TEXT end"), "{e}");
        // Not FCS 3.
        let e = parse(
            b"FCS2.0    0000000000000000000000000000000000000000000000000000",
            "t.fcs",
            &opts(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("FCS 3.0, 3.1 or 3.2"), "{e}");
        // An odd number of TEXT fields.
        let mut odd = good.clone();
        let pos = odd.windows(5).position(|w| w == b"$MODE").unwrap();
        odd[pos + 5] = b'_'; // `$MODE/L/` -> `$MODE_L/`: one field fewer
        let e = parse(&odd, "t.fcs", &opts()).unwrap_err().to_string();
        assert!(e.contains("odd number"), "{e}");
    }
}

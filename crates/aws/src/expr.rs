//! Builds DynamoDB expressions with placeholders numbered as they are used, because DynamoDB
//! rejects requests that define a name or value the expressions do not use.

use aws_sdk_dynamodb::types::AttributeValue;
use siftgram_core::Timestamp;
use siftgram_core::ports::Condition;
use std::collections::HashMap;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const INDEX_PK: &str = "gsi1pk";
pub const INDEX_SK: &str = "gsi1sk";
pub const INDEX_NAME: &str = "gsi1";
pub const ATTRS: &str = "a";
pub const VERSION: &str = "ver";
pub const EXPIRES: &str = "expires_at";

#[derive(Default)]
pub struct Expr {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    pub fn names_opt(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    pub fn values_opt(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// "Not expired": no expiry, or an expiry after now.
    fn live(&mut self, now: Timestamp) -> String {
        let exp = self.name(EXPIRES);
        let now = self.value(number(now.0));
        format!("(attribute_not_exists({exp}) OR {exp} > {now})")
    }

    /// The condition expression for `condition`; an expired item counts as absent.
    pub fn condition(&mut self, condition: &Condition, now: Timestamp) -> Option<String> {
        Some(match condition {
            Condition::Always => return None,
            Condition::NotExists => {
                let pk = self.name(PK);
                let exp = self.name(EXPIRES);
                let now = self.value(number(now.0));
                format!("attribute_not_exists({pk}) OR {exp} <= {now}")
            }
            Condition::Exists => {
                let pk = self.name(PK);
                format!("attribute_exists({pk}) AND {}", self.live(now))
            }
            Condition::Version(v) => {
                let ver = self.name(VERSION);
                let v = self.value(number(*v as i64));
                format!("{ver} = {v} AND {}", self.live(now))
            }
            Condition::AttrEquals(name, value) => {
                let (a, n) = (self.name(ATTRS), self.name(name));
                let v = self.value(crate::attrs::to_attr(value));
                format!("{a}.{n} = {v} AND {}", self.live(now))
            }
        })
    }
}

pub fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

pub fn string(s: &str) -> AttributeValue {
    AttributeValue::S(s.to_owned())
}

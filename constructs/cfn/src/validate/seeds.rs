//! The serde seeds that read a schema's JSON text straight into the compiler's arena.

use super::*;

/// An object key, borrowed from the schema's text when it has no escapes.
pub(super) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Reads a schema (an object, `true` or `false`) into a [`Node`], not yet placed.
pub(super) struct NodeSeed<'c, 's>(pub(super) &'c mut Compiler<'s>);

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, '_> {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON schema")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Node, A::Error> {
        Ok(Node::Object(self.0.object(map)?))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Node, E> {
        Ok(if b { Node::Any } else { Node::Never })
    }

    other_shapes! { Node::Any; seq }
}

/// Reads a schema into the arena: its node's index.
pub(super) struct SchemaSeed<'c, 's>(pub(super) &'c mut Compiler<'s>);

impl<'de> DeserializeSeed<'de> for SchemaSeed<'_, '_> {
    type Value = Id;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Id, D::Error> {
        let node = NodeSeed(&mut *self.0).deserialize(d)?;
        Ok(self.0.place(node))
    }
}

/// A list of schemas (`allOf`, `anyOf`, `oneOf`, `prefixItems`); `None` if not a list.
pub(super) struct SchemaListSeed<'c, 's>(pub(super) &'c mut Compiler<'s>);

impl<'de> DeserializeSeed<'de> for SchemaListSeed<'_, '_> {
    type Value = Option<Vec<Id>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SchemaListSeed<'_, '_> {
    type Value = Option<Vec<Id>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of JSON schemas")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let c = self.0;
        let mut ids = Vec::new();
        loop {
            let mark = c.enter_index(ids.len());
            let next = seq.next_element_seed(SchemaSeed(&mut *c))?;
            c.leave(mark);
            match next {
                Some(id) => ids.push(id),
                None => return Ok(Some(ids)),
            }
        }
    }

    other_shapes! { None; bool, map }
}

/// `items`: one schema, or a list of them (one per position).
pub(super) struct ItemsSeed<'c, 's>(pub(super) &'c mut Compiler<'s>);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_, '_> {
    type Value = Items;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Items, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_, '_> {
    type Value = Items;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON schema or a list of them")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Items, A::Error> {
        let list = SchemaListSeed(self.0).visit_seq(seq)?;
        Ok(Items::Tuple(list.unwrap_or_default()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Items, A::Error> {
        let node = NodeSeed(&mut *self.0).visit_map(map)?;
        Ok(Items::Each(self.0.place(node)))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Items, E> {
        let node = if b { Node::Any } else { Node::Never };
        Ok(Items::Each(self.0.place(node)))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Items, E> {
        Ok(Items::Each(self.0.place(Node::Any)))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Items, E> {
        Ok(Items::Each(self.0.place(Node::Any)))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Items, E> {
        Ok(Items::Each(self.0.place(Node::Any)))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Items, E> {
        Ok(Items::Each(self.0.place(Node::Any)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Items, E> {
        Ok(Items::Each(self.0.place(Node::Any)))
    }
}

/// `properties` or `patternProperties`: name or pattern -> schema (empty if not an
/// object).
pub(super) struct PropertiesSeed<'c, 's>(pub(super) &'c mut Compiler<'s>);

impl<'de> DeserializeSeed<'de> for PropertiesSeed<'_, '_> {
    type Value = Vec<(Box<str>, Id)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropertiesSeed<'_, '_> {
    type Value = Vec<(Box<str>, Id)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of JSON schemas")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let c = self.0;
        let mut properties = Vec::new();
        while let Some(name) = map.next_key_seed(KeySeed)? {
            let mark = c.enter(&name);
            let id = map.next_value_seed(SchemaSeed(&mut *c))?;
            c.leave(mark);
            properties.push((Box::from(name), id));
        }
        Ok(properties)
    }

    other_shapes! { Vec::new(); bool, seq }
}

/// `dependencies` / `dependentRequired`: name -> the names it needs, or a schema the
/// whole object must satisfy (empty if not an object; other entries left out).
pub(super) struct DependenciesSeed<'c, 's>(pub(super) &'c mut Compiler<'s>);

impl<'de> DeserializeSeed<'de> for DependenciesSeed<'_, '_> {
    type Value = Vec<(Box<str>, Dependency)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DependenciesSeed<'_, '_> {
    type Value = Vec<(Box<str>, Dependency)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of dependencies")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let c = self.0;
        let mut deps = Vec::new();
        while let Some(name) = map.next_key_seed(KeySeed)? {
            let mark = c.enter(&name);
            let dep = map.next_value_seed(DependencySeed(&mut *c))?;
            c.leave(mark);
            if let Some(dep) = dep {
                deps.push((Box::from(name), dep));
            }
        }
        Ok(deps)
    }

    other_shapes! { Vec::new(); bool, seq }
}

/// One dependency: a list of names or a schema object (`None`: anything else).
pub(super) struct DependencySeed<'c, 's>(pub(super) &'c mut Compiler<'s>);

impl<'de> DeserializeSeed<'de> for DependencySeed<'_, '_> {
    type Value = Option<Dependency>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DependencySeed<'_, '_> {
    type Value = Option<Dependency>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of names or a JSON schema")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut needed = Vec::new();
        while let Some(x) = seq.next_element::<J>()? {
            if let J::String(s) = x {
                needed.push(s.into_boxed_str());
            }
        }
        Ok(Some(Dependency::Names(needed)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let node = NodeSeed(&mut *self.0).visit_map(map)?;
        Ok(Some(Dependency::Schema(self.0.place(node))))
    }

    other_shapes! { None; bool }
}

/// A value the checks do not read: walked only as far as needed to compile the `$ref`
/// targets in it (the definitions), skipped otherwise.
pub(super) struct TargetsSeed<'c, 's>(pub(super) &'c mut Compiler<'s>);

impl<'de> DeserializeSeed<'de> for TargetsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let c = self.0;
        match c.at {
            None => IgnoredAny::deserialize(d).map(|_| ()),
            Some(at) if c.targets.nodes[at as usize].is_target => SchemaSeed(c).deserialize(d).map(|_| ()),
            // A target is below: walk to it.
            Some(_) => d.deserialize_any(TargetsSeed(c)),
        }
    }
}

impl<'de> Visitor<'de> for TargetsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let c = self.0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let mark = c.enter(&key);
            map.next_value_seed(TargetsSeed(&mut *c))?;
            c.leave(mark);
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let c = self.0;
        let mut i = 0;
        loop {
            let mark = c.enter_index(i);
            let next = seq.next_element_seed(TargetsSeed(&mut *c))?;
            c.leave(mark);
            if next.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    other_shapes! { (); bool }
}

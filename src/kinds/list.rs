//! `kinds!`: from the one list of kinds, the enums of identities and
//! attributes, the state (one map per kind), the action target, and every
//! dispatch over kinds, each a `match` with one arm per kind.

macro_rules! kinds {
    ($($K:ident($I:ident): $m:ident),* $(,)?) => {
        /// The identity of one object, of any kind.
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "kind", rename_all = "lowercase")]
        pub enum Id { $($K($I)),* }

        /// The attributes of one object, of any kind.
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "kind", rename_all = "lowercase")]
        pub enum Res { $($K($K)),* }

        /// `Res` borrowed: serializes exactly as `Res` does.
        #[derive(serde::Serialize)]
        #[serde(tag = "kind", rename_all = "lowercase")]
        pub enum ResRef<'a> { $($K(&'a $K)),* }

        impl Id {
            pub fn ns(&self) -> crate::model::Ns {
                match self { $(Id::$K(i) => <$K as Kind>::ns(i)),* }
            }
            /// A short word for the kind, as shown in plans.
            pub fn kind(&self) -> &'static str {
                match self { $(Id::$K(_) => <$K as Kind>::NAME),* }
            }
            pub fn label(&self) -> String {
                match self { $(Id::$K(i) => <$K as Kind>::label(i)),* }
            }
            /// Whether the object goes by an action of its own.
            pub fn deleted_alone(&self) -> bool {
                match self { $(Id::$K(_) => <$K as Kind>::DELETED_ALONE),* }
            }
            /// The interfaces making it creates.
            pub fn makes(&self, desired: Option<&State>) -> Vec<crate::model::IfRef> {
                match self { $(Id::$K(i) => <$K as Kind>::makes(i, desired)),* }
            }
            /// When it exists unmarked for a moment.
            pub fn journal(&self) -> Journal {
                match self { $(Id::$K(_) => <$K as Kind>::JOURNAL),* }
            }
            /// The interface that deleting it deletes, when that is all.
            pub fn deleted_link(&self) -> Option<&crate::model::IfRef> {
                match self { $(Id::$K(i) => <$K as Kind>::deleted_link(i)),* }
            }
            /// Whether the kernel removes it with its namespace.
            pub fn goes_with_namespace(&self) -> bool {
                match self { $(Id::$K(_) => <$K as Kind>::GOES_WITH_NAMESPACE),* }
            }
        }

        impl Res {
            pub fn describe(&self) -> String {
                match self { $(Res::$K(r) => r.describe()),* }
            }
            pub fn kind(&self) -> &'static str {
                match self { $(Res::$K(_) => <$K as Kind>::NAME),* }
            }
            /// The attributes in a plan document, tagged with the kind.
            pub fn to_json(&self) -> serde_json::Value {
                let mut v = match self { $(Res::$K(r) => <$K as Kind>::json(r)),* };
                if let Some(o) = v.as_object_mut() {
                    o.insert("kind".into(), self.kind().into());
                }
                v
            }
        }

        /// A set of objects: one map per kind, so an identity is only ever
        /// stored with attributes of its own kind.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct State { $(pub $m: std::collections::BTreeMap<$I, $K>),* }

        impl State {
            pub fn new() -> Self { Self::default() }
            pub fn len(&self) -> usize { 0 $(+ self.$m.len())* }
            pub fn is_empty(&self) -> bool { self.len() == 0 }
            pub fn contains(&self, id: &Id) -> bool {
                match id { $(Id::$K(i) => self.$m.contains_key(i)),* }
            }
            /// Whether both states hold `id` with equal attributes: then
            /// there is nothing to change, said without cloning either.
            pub fn same(&self, other: &State, id: &Id) -> bool {
                match id { $(Id::$K(i) => matches!((self.$m.get(i), other.$m.get(i)), (Some(a), Some(b)) if a == b)),* }
            }
            pub fn get(&self, id: &Id) -> Option<Res> {
                match id { $(Id::$K(i) => self.$m.get(i).cloned().map(Res::$K)),* }
            }
            pub fn remove(&mut self, id: &Id) -> bool {
                match id { $(Id::$K(i) => self.$m.remove(i).is_some()),* }
            }
            pub fn insert<K: Stored>(&mut self, id: K::Id, me: K) {
                K::map_mut(self).insert(id, me);
            }
            /// Every identity, kind by kind, each kind's in order.
            pub fn ids(&self) -> impl Iterator<Item = Id> + '_ {
                std::iter::empty() $(.chain(self.$m.keys().cloned().map(Id::$K)))*
            }
            /// Calls `f` with each object and the JSON of (identity,
            /// attributes), as `entries` would serialize it, without
            /// cloning the state.
            pub fn each_json(&self, mut f: impl FnMut(&Id, &[u8])) {
                let mut buf = Vec::new();
                $(for (i, r) in &self.$m {
                    let id = Id::$K(i.clone());
                    buf.clear();
                    // Into memory, of types whose maps have string keys:
                    // cannot fail.
                    serde_json::to_writer(&mut buf, &(&id, ResRef::$K(r)))
                        .expect("resources serialize");
                    f(&id, &buf);
                })*
            }
            /// Every object as (identity, attributes), for documents.
            pub fn entries(&self) -> Vec<(Id, Res)> {
                let mut out = Vec::with_capacity(self.len());
                $(out.extend(self.$m.iter().map(|(i, r)| (Id::$K(i.clone()), Res::$K(r.clone()))));)*
                out
            }
            /// Adds an object read from a document; refuses a pair of
            /// mismatched kinds.
            pub fn put(&mut self, id: Id, res: Res) -> Result<(), String> {
                match (id, res) {
                    $((Id::$K(i), Res::$K(r)) => { self.$m.insert(i, r); Ok(()) })*
                    (id, res) => Err(format!("{id} cannot have the attributes of a {}", res.kind())),
                }
            }
            /// The objects `keep` accepts.
            pub fn filtered(&self, keep: impl Fn(&Id) -> bool) -> State {
                let mut out = State::new();
                $(for (i, r) in &self.$m {
                    if keep(&Id::$K(i.clone())) { out.$m.insert(i.clone(), r.clone()); }
                })*
                out
            }
        }

        $(impl Stored for $K {
            fn map(st: &State) -> &std::collections::BTreeMap<$I, $K> { &st.$m }
            fn map_mut(st: &mut State) -> &mut std::collections::BTreeMap<$I, $K> { &mut st.$m }
            fn id(id: $I) -> Id { Id::$K(id) }
            fn res(me: $K) -> Res { Res::$K(me) }
            fn target(v: Versions<$K>) -> Target { Target::$K(Box::new(v)) }
        })*

        /// What one action is about: an object of one kind, before and after.
        /// Boxed: kinds differ much in size, and a plan holds thousands.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Target { $($K(Box<Versions<$K>>)),* }

        impl Target {
            /// The object `id` as `before` has it and `after` wants it.
            pub fn of(id: &Id, before: Option<&State>, after: Option<&State>) -> Target {
                match id {
                    $(Id::$K(i) => Target::$K(Box::new(Versions {
                        id: i.clone(),
                        before: before.and_then(|s| s.$m.get(i).cloned()),
                        after: after.and_then(|s| s.$m.get(i).cloned()),
                    }))),*
                }
            }
            /// From a document's parts; refuses mismatched kinds.
            pub fn from_parts(id: Id, before: Option<Res>, after: Option<Res>) -> Result<Target, String> {
                fn take<K: Stored>(r: Option<Res>, want: &Id) -> Result<Option<K>, String> {
                    let Some(r) = r else { return Ok(None) };
                    let mut st = State::new();
                    let kind = r.kind();
                    st.put(want.clone(), r)?;
                    K::map(&st).values().next().cloned().map(Some)
                        .ok_or_else(|| format!("{want} cannot have the attributes of a {kind}"))
                }
                match &id {
                    $(Id::$K(i) => Ok(Target::$K(Box::new(Versions {
                        id: i.clone(),
                        before: take::<$K>(before, &id)?,
                        after: take::<$K>(after, &id)?,
                    })))),*
                }
            }
            pub fn id(&self) -> Id {
                match self { $(Target::$K(v) => Id::$K(v.id.clone())),* }
            }
            pub fn before(&self) -> Option<Res> {
                match self { $(Target::$K(v) => v.before.clone().map(Res::$K)),* }
            }
            pub fn after(&self) -> Option<Res> {
                match self { $(Target::$K(v) => v.after.clone().map(Res::$K)),* }
            }
            /// The same object with nothing known before (made from scratch).
            pub fn forget_before(&mut self) {
                match self { $(Target::$K(v) => v.before = None),* }
            }
            /// The namespaces an action on this object changes.
            pub fn reaches(&self) -> Vec<crate::model::Ns> {
                match self {
                    $(Target::$K(v) => {
                        let mut out: Vec<crate::model::Ns> = [&v.before, &v.after]
                            .into_iter()
                            .flatten()
                            .flat_map(|me| <$K as Kind>::reaches(&v.id, me))
                            .collect();
                        out.push(<$K as Kind>::ns(&v.id));
                        out
                    }),*
                }
            }
            /// The attributes where the kernel differs from the file.
            pub fn changes(&self) -> Vec<crate::model::Change> {
                match self {
                    $(Target::$K(v) => match (&v.after, &v.before) {
                        (Some(want), Some(have)) => want.changes(have),
                        _ => Vec::new(),
                    }),*
                }
            }
            pub fn replace_reason(&self, changes: &[crate::model::Change]) -> Option<String> {
                match self {
                    $(Target::$K(v) => v.after.as_ref().and_then(|a| a.replace_reason(changes))),*
                }
            }
            /// What the plan should add about others this action touches.
            pub fn note(&self, op: crate::plan::Op, obs: &crate::observe::Observed) -> Option<String> {
                match self { $(Target::$K(v) => <$K as Kind>::note(&v.id, op, obs)),* }
            }
            /// Carries out one half of an action on this object.
            pub async fn run<M: crate::machine::Machine>(
                &self,
                half: crate::plan::Half,
                op: crate::plan::Op,
                x: &mut Exec<'_, M>,
            ) -> Result<(), KernelError> {
                match self { $(Target::$K(v) => crate::apply::run_one::<$K, M>(v, half, op, x).await),* }
            }
        }

        /// Lets every object of `st` register what others look up.
        pub fn index_all(st: &State, ix: &mut Index) {
            $(for (i, me) in &st.$m { <$K as Kind>::index(i, me, ix); })*
        }

        /// What `id` needs first, by its kind's rule.
        pub fn deps_of(id: &Id, st: &State, ix: &Index) -> Vec<Id> {
            match id {
                $(Id::$K(i) => st.$m.get(i).map(|me| <$K as Kind>::deps(i, me, ix)).unwrap_or_default()),*
            }
        }

        /// The node `id` is grouped with in the order.
        pub fn home_of(id: &Id, st: &State, ix: &Index) -> Option<String> {
            match id {
                $(Id::$K(i) => st.$m.get(i).and_then(|me| <$K as Kind>::home(i, me, ix))),*
            }
        }

        /// What the kernel removes along with the live object `id`.
        pub fn takes_along(id: &Id, cx: &mut VanishCx<'_>) {
            match id {
                $(Id::$K(i) => if let Some(me) = cx.live.$m.get(i) { <$K as Kind>::takes_along(i, me, cx) }),*
            }
        }

        /// Every kind reads its objects of one namespace.
        pub fn observe_all(cx: &mut ObserveNs<'_>) {
            $(<$K as Kind>::observe(cx);)*
        }

        /// Every kind reads its objects outside the namespaces' dumps.
        pub fn observe_lab_all(cx: &mut ObserveLab<'_>) {
            $(<$K as Kind>::observe_lab(cx);)*
        }
    };
}
